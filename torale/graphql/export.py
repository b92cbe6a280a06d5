"""Write the schema's SDL: `python -m torale.graphql.export [PATH]` (default schema.graphql)."""

from __future__ import annotations

import sys
from pathlib import Path

from torale.graphql.schema import schema

REPO_SCHEMA = Path(__file__).resolve().parent.parent.parent / "schema.graphql"


def sdl() -> str:
    return schema.as_str() + "\n"


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_SCHEMA
    target.write_text(sdl())
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
