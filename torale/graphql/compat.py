"""Breaking changes of the GraphQL schema against the last released one.

`infra/graphql/released.graphql` is the schema clients were last promised;
`infra/graphql/accepted-breaking-changes.toml` lists each breaking change made since,
with the reason it was accepted. CI (tests/graphql/test_schema_compat.py) fails when
the code's schema breaks the released one in a way not listed there, and when a listed
change no longer happens (the list stays exact). Both files are in the repository,
so the check needs no git history and works on a fresh clone.

    python -m torale.graphql.compat            # report breaking and dangerous changes
    python -m torale.graphql.compat --release  # make the current schema the released one

`--release` copies `schema.graphql` over the released schema and empties the list:
run it when a version ships.
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from graphql import build_schema, find_breaking_changes, find_dangerous_changes

from torale.graphql.export import REPO_SCHEMA, sdl

INFRA = REPO_SCHEMA.parent / "infra" / "graphql"
RELEASED = INFRA / "released.graphql"
ACCEPTED = INFRA / "accepted-breaking-changes.toml"

_ACCEPTED_HEADER = """\
# Breaking changes of the GraphQL schema since infra/graphql/released.graphql, each
# with why it was accepted. `python -m torale.graphql.compat` lists what to put here;
# `--release` empties this file when a version ships.
"""


@dataclass(frozen=True)
class Change:
    kind: str
    description: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.description}"


@dataclass(frozen=True)
class Report:
    breaking: list[Change]
    dangerous: list[Change]
    # Breaking changes nobody accepted, and accepted ones that no longer happen.
    unaccepted: list[Change]
    stale: list[Change]

    @property
    def ok(self) -> bool:
        return not self.unaccepted and not self.stale


def changes(old_sdl: str, new_sdl: str) -> tuple[list[Change], list[Change]]:
    """(breaking, dangerous) changes from `old_sdl` to `new_sdl`, per graphql-core."""
    old, new = build_schema(old_sdl), build_schema(new_sdl)
    breaking = [Change(c.type.name, c.description) for c in find_breaking_changes(old, new)]
    dangerous = [Change(c.type.name, c.description) for c in find_dangerous_changes(old, new)]
    return breaking, dangerous


def accepted_changes(path: Path = ACCEPTED) -> list[Change]:
    """Each `[[change]]` has a `kind`, a `reason`, and one `description` or a list of
    `descriptions` (changes made for the same reason)."""
    entries = tomllib.loads(path.read_text()).get("change", []) if path.exists() else []
    accepted: list[Change] = []
    for entry in entries:
        if not str(entry.get("reason", "")).strip():
            raise ValueError(f"{path}: every accepted change needs a reason: {entry}")
        descriptions = entry.get("descriptions") or [entry["description"]]
        accepted += [Change(entry["kind"], d) for d in descriptions]
    return accepted


def report(
    released_sdl: str | None = None,
    current_sdl: str | None = None,
    accepted: list[Change] | None = None,
) -> Report:
    released_sdl = RELEASED.read_text() if released_sdl is None else released_sdl
    current_sdl = sdl() if current_sdl is None else current_sdl
    accepted = accepted_changes() if accepted is None else accepted
    breaking, dangerous = changes(released_sdl, current_sdl)
    return Report(
        breaking=breaking,
        dangerous=dangerous,
        unaccepted=[c for c in breaking if c not in accepted],
        stale=[c for c in accepted if c not in breaking],
    )


def describe(found: Report) -> str:
    lines = [f"{len(found.breaking)} breaking, {len(found.dangerous)} dangerous change(s)"]
    lines += [f"  breaking  {c}" for c in found.breaking]
    lines += [f"  dangerous {c}" for c in found.dangerous]
    if found.unaccepted:
        lines.append(f"Not accepted in {ACCEPTED.name} (add each with a reason, or undo it):")
        lines += [
            f'[[change]]\nkind = "{c.kind}"\ndescription = "{c.description}"\nreason = ""'
            for c in found.unaccepted
        ]
    if found.stale:
        lines.append(f"Accepted in {ACCEPTED.name} but no longer happening (remove them):")
        lines += [f"  {c}" for c in found.stale]
    return "\n".join(lines)


def release() -> None:
    RELEASED.write_text(REPO_SCHEMA.read_text())
    ACCEPTED.write_text(_ACCEPTED_HEADER)
    print(f"{RELEASED} is now the released schema; {ACCEPTED.name} emptied")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--release"]:
        release()
        return 0
    found = report()
    print(describe(found))
    return 0 if found.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
