from torale.cli import main

main()
