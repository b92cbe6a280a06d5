"""Objects built from records by code written out for one record class.

A list page builds one object per row, each from the same columns: with the rows as
records (`torale.pagination` gives named tuples), where each column sits is known
once for the class. The code written out for a (type, record class) reads each
column by position and sets it as an attribute: no attribute lookup through the
record's descriptors, no intermediate tuple, pairs or dict update per row.

The object is the one `_RowBuilder.fill` makes (`torale.graphql.types`, used only
where that equals what `__init__` makes): created without `__init__`, its attributes
set in the same order (the row's fields, then the given values), each to the same
value. Only a class made by `collections.namedtuple` qualifies: there `row.name` is
`row[i]`, read by a descriptor that does nothing else.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from typing import Any

from torale.bounded import remember
from torale.graphql.source_names import reads_as_itself

# The descriptor `namedtuple` gives each field of a record class.
_FIELD_DESCRIPTOR = type(namedtuple("_Probe", "field").field)  # type: ignore[attr-defined]

# Anything of these on the class would stand between `row.name` and `row[i]`.
_HOOKS = ("__getattribute__", "__getattr__", "__getitem__")

_WRITTEN: dict[tuple[Any, ...], Callable[..., Any]] = {}
_WRITTEN_MAX = 64


def record_builder(
    type_: type, names: tuple[str, ...], given: tuple[str, ...], record: type
) -> Callable[..., Any] | None:
    """`build(row, *values)` for rows of class `record`: an object of `type_` with
    `names` from the row and `given` from `values`, or None when `record` is not a
    plain named tuple holding every name (then rows are read by attribute)."""
    positions = _positions(record, names)
    if positions is None or not all(reads_as_itself(name) for name in (*names, *given)):
        return None
    key = (type_, names, given, record)
    built = _WRITTEN.get(key)
    if built is None:
        built = remember(_WRITTEN, key, _write(type_, names, positions, given), _WRITTEN_MAX)
    return built


def _positions(record: type, names: tuple[str, ...]) -> tuple[int, ...] | None:
    """Where each name sits in a record of class `record`, if it is a class as
    `collections.namedtuple` makes it (nothing between an attribute and its item)."""
    fields = record.__dict__.get("_fields")
    if (
        record.__bases__ != (tuple,)
        or not isinstance(fields, tuple)
        or any(type(record.__dict__.get(name)) is not _FIELD_DESCRIPTOR for name in names)
        or any(hook in record.__dict__ for hook in _HOOKS)
    ):
        return None
    # A record whose items are their own positions answers each name with its position.
    probe: Any = tuple.__new__(record, range(len(fields)))
    return tuple(getattr(probe, name) for name in names)


def _write(
    type_: type, names: tuple[str, ...], positions: tuple[int, ...], given: tuple[str, ...]
) -> Callable[..., Any]:
    lines = [
        "def build(row, *values):",
        "    built = new(type_)",
        *(
            f"    built.{name} = row[{position}]"
            for name, position in zip(names, positions, strict=True)
        ),
    ]
    if given:
        lines.append(f"    ({', '.join(f'built.{name}' for name in given)},) = values")
    else:
        lines.append("    () = values")
    lines.append("    return built")
    namespace: dict[str, Any] = {"new": object.__new__, "type_": type_}
    exec(compile("\n".join(lines), f"<record builder of {type_.__name__}>", "exec"), namespace)
    build: Callable[..., Any] = namespace["build"]
    return build
