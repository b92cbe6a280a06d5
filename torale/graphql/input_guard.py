"""Refuse input no field may hold, wherever it appears, before any resolver runs.

Every string in a request must be storable and bounded: PostgreSQL cannot store
U+0000 in `text` or `jsonb`, an unpaired surrogate (`\\ud800`) cannot be encoded as
UTF-8 at all, and no field takes more than `MAX_STRING_CHARS`. Every value must be
nested at most `MAX_NESTING` levels. Without this, such input surfaces as a database
or encoder error (a 500) deep inside a service, or is stored and breaks every later
read. The execution pipeline (`torale.graphql.pipeline`) checks it for both doors:
the variables per request, a document's string literals once when it is compiled.
The limits themselves live in `torale.input_limits`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, StringValueNode, Visitor, visit

from torale.errors import FieldError, ValidationFailed
from torale.input_limits import MAX_NESTING, MAX_STRING_CHARS, too_deep, too_long

NUL_MESSAGE = "Text must not contain NUL (\\u0000) characters"
SURROGATE_MESSAGE = "Text must not contain unpaired surrogates (\\ud800-\\udfff)"
# Enough to name every bad field of a real request; a hostile one is not listed in full.
_MAX_PROBLEMS = 20

Path = tuple[str | int, ...]


def text_problem(text: str) -> str | None:
    """Why `text` may not be stored, or None."""
    if "\x00" in text:
        return NUL_MESSAGE
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_MESSAGE
    if len(text) > MAX_STRING_CHARS:
        return too_long(MAX_STRING_CHARS)
    return None


def input_problems(value: Any) -> Iterator[tuple[Path, str]]:
    """(path, message) for each refused string or over-deep value, walked iteratively."""
    pending: list[tuple[Any, Path]] = [(value, ())]
    while pending:
        item, path = pending.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                yield path, problem
            continue
        if not isinstance(item, dict | list | tuple):
            continue
        if len(path) >= MAX_NESTING:
            # Named where the value starts, not at the bottom of a 5,000-long path.
            yield path[:2], too_deep()
            continue
        if isinstance(item, dict):
            for key, child in item.items():
                problem = text_problem(key) if isinstance(key, str) else None
                if problem:
                    yield (*path, key), problem
                pending.append((child, (*path, key)))
        else:
            pending.extend((child, (*path, index)) for index, child in enumerate(item))


# Values holding no text and nothing nested: nothing in them can be refused.
_INERT = frozenset({int, float, bool, type(None)})


def _plainly_fine(variables: dict[str, Any]) -> bool:
    """Variables of inert values only, under short ASCII names without NUL (no
    surrogate either, then): what a page's variables are (`page`, `limit`, flags).
    Decided without walking them."""
    for key, value in variables.items():
        if (
            type(value) not in _INERT
            or type(key) is not str
            or not key.isascii()
            or "\x00" in key
            or len(key) > MAX_STRING_CHARS
        ):
            return False
    return True


def refuse_bad_input(variables: dict[str, Any] | None) -> None:
    """422 naming each offending field; a body's `input` wrapper is not part of its path."""
    if not variables or _plainly_fine(variables):
        return
    errors: list[FieldError] = []
    for path, message in input_problems(variables or {}):
        shown = tuple(_printable(part) for part in (path[1:] if path[:1] == ("input",) else path))
        if any(e.loc == ("body", *shown) and e.msg == message for e in errors):
            continue
        errors.append(FieldError(["body", *shown], message))
        if len(errors) >= _MAX_PROBLEMS:
            break
    if errors:
        raise ValidationFailed(errors)


def _printable(part: str | int) -> str | int:
    # A refused key is named in the answer: short, and encodable like any answer text.
    if isinstance(part, int):
        return part
    return part[:50].encode("utf-8", "backslashreplace").decode("utf-8")


class _BadLiterals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.problem: str | None = None

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        self.problem = self.problem or text_problem(node.value)


def literal_problem(document: DocumentNode) -> str | None:
    """Why a string literal written in `document` may not be stored, or None."""
    literals = _BadLiterals()
    visit(document, literals)
    return literals.problem
