"""How the API commands print: aligned tables for people, `--json` for scripts, and a
spinner on stderr (only on a terminal) while waiting."""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import click

CELL_MAX = 48
_FRAMES = "|/-\\"


def as_json(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [as_json(v) for v in value]
    return value


def print_json(value: Any) -> None:
    click.echo(json.dumps(as_json(value), indent=2, ensure_ascii=False))


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%SZ")
    text = " ".join(str(value).split())
    return text if len(text) <= CELL_MAX else text[: CELL_MAX - 1] + "…"


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    cells = [[cell(v) for v in row] for row in rows]
    if not cells:
        click.echo("(none)")
        return
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    click.echo("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@dataclass(frozen=True)
class Table:
    """What a list command prints of each item: its column headers and `row(item)`."""

    headers: tuple[str, ...]
    row: Callable[[Any], Sequence[Any]]

    def print(self, items: Iterable[Any]) -> None:
        print_table(self.headers, map(self.row, items))


def print_fields(pairs: Iterable[tuple[str, Any]]) -> None:
    pairs = list(pairs)
    width = max(len(k) for k, _ in pairs)
    for key, value in pairs:
        text = "-" if value is None else str(as_json(value))
        if isinstance(value, datetime | bool):
            text = cell(value)
        elif isinstance(value, dict | list):
            text = json.dumps(as_json(value), ensure_ascii=False)
        click.echo(f"{key.ljust(width)}  {text}")


def page_footer(page: Any) -> None:
    shown = len(page.items)
    if page.total > shown:
        first = (page.page - 1) * page.limit + 1
        click.echo(f"({first}-{first + shown - 1} of {page.total}; --page for more)")


class Spinner:
    """`spin(label)` after each poll; `done()` clears the line. Silent off a terminal."""

    def __init__(self) -> None:
        self._frames = itertools.cycle(_FRAMES)
        self._started = time.monotonic()
        self._active = sys.stderr.isatty()

    def spin(self, label: str) -> None:
        if self._active:
            elapsed = time.monotonic() - self._started
            sys.stderr.write(f"\r{next(self._frames)} {label} ({elapsed:.0f}s)  ")
            sys.stderr.flush()

    def done(self) -> None:
        if self._active:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
