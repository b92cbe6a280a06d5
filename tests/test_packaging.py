"""Files the server reads at start-up ship in the wheel, not only in a checkout."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _owning_package(path: Path) -> tuple[str, str]:
    """The dotted package holding `path` and the path relative to it."""
    directory = path.parent
    while not (directory / "__init__.py").exists():
        directory = directory.parent
    package = directory.relative_to(ROOT).as_posix().replace("/", ".")
    return package, path.relative_to(directory).as_posix()


def test_every_graphql_document_is_package_data() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    documents = sorted((ROOT / "torale").rglob("*.graphql"))
    assert len(documents) > 5  # every domain's operations, and the persisted ones
    missing = []
    for document in documents:
        package, relative = _owning_package(document)
        globs = [*package_data.get(package, []), *package_data.get("*", [])]
        if not any(fnmatch(relative, g) and relative.count("/") == g.count("/") for g in globs):
            missing.append(f"{package}: {relative}")
    assert not missing, f"not in package-data: {missing}"
