"""GraphQL objects built from rows (`torale.graphql.types.from_row`, `page_of`)."""

from __future__ import annotations

from collections import namedtuple
from types import SimpleNamespace
from typing import Any

import pytest
import strawberry

from torale.graphql import record_builders, types
from torale.graphql.source_names import reads_as_itself
from torale.graphql.types import from_row, page_of


@strawberry.type
class Thing:
    id: int
    name: str
    # Private, declared under postponed annotations: never read from the row.
    secret: strawberry.Private[str]

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


def test_plain_fields_come_from_the_row_private_ones_are_given():
    row = SimpleNamespace(id=1, name="a", secret="from the row", shout="from the row")
    thing = from_row(Thing, row, secret="given")
    assert (thing.id, thing.name, thing.secret) == (1, "a", "given")
    assert thing.shout() == "A"


def test_a_row_need_not_hold_the_private_fields():
    thing = from_row(Thing, SimpleNamespace(id=1, name="a"), secret="s")
    assert thing.secret == "s"


def test_a_given_value_overrides_the_rows():
    thing = from_row(Thing, SimpleNamespace(id=1, name="a"), name="b", secret="s")
    assert thing.name == "b"


def test_a_row_without_a_field_fails_loudly():
    with pytest.raises(AttributeError):
        from_row(Thing, SimpleNamespace(id=1), secret="s")


def test_page_of_builds_each_item():
    rows = [SimpleNamespace(id=i, name=str(i)) for i in range(3)]
    page = page_of(lambda r: from_row(Thing, r, secret=""), rows, total=7, page=2, limit=3)
    assert [t.id for t in page.items] == [0, 1, 2]
    assert (page.total, page.page, page.limit) == (7, 2, 3)


def test_a_built_object_is_what_its_init_would_build():
    row = SimpleNamespace(id=1, name="a")
    thing = from_row(Thing, row, secret="s")
    by_init = Thing(id=1, name="a", secret="s")
    assert thing == by_init and list(vars(thing).items()) == list(vars(by_init).items())
    assert types._BUILDERS[Thing].fills_directly  # the direct way was taken


def test_an_unknown_given_name_fails_as_init_fails():
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        from_row(Thing, SimpleNamespace(id=1, name="a"), secret="s", nope=1)


@strawberry.type
class Checked:
    id: int
    seen: strawberry.Private[list[int]]

    def __post_init__(self) -> None:
        self.seen.append(self.id)


def test_a_type_whose_init_does_more_is_built_by_its_init():
    seen: list[int] = []
    from_row(Checked, SimpleNamespace(id=3), seen=seen)
    assert seen == [3]
    assert not types._BUILDERS[Checked].fills_directly


def test_a_row_builder_builds_what_from_row_builds():
    row = SimpleNamespace(id=1, name="a")
    build = types.row_builder(Thing, "secret")
    built, expected = build(row, "s"), from_row(Thing, row, secret="s")
    assert build is not None and type(built) is Thing
    assert vars(built) == vars(expected) and list(vars(built)) == list(vars(expected))
    assert built == Thing(id=1, name="a", secret="s")


def test_a_row_builder_for_an_init_that_does_more_calls_it():
    seen: list[int] = []
    types.row_builder(Checked, "seen")(SimpleNamespace(id=4), seen)
    assert seen == [4]


def test_a_row_builder_missing_a_given_field_fails_as_init_fails():
    with pytest.raises(TypeError):
        types.row_builder(Thing)(SimpleNamespace(id=1, name="a"))


Record = namedtuple("Record", "name extra id")


def test_a_record_is_built_into_what_from_row_builds():
    """Rows of a named tuple class are built by code written out for the class: the
    same object, attributes in the same order, as from the same row read by name."""
    build = types.row_builder(Thing, "secret")
    record = Record(name="a", extra="not a field", id=1)
    built, expected = build(record, "s"), from_row(Thing, record, secret="s")
    assert type(built) is Thing and built == expected == Thing(id=1, name="a", secret="s")
    assert list(vars(built).items()) == list(vars(expected).items())
    assert record_builders.record_builder(Thing, ("id", "name"), ("secret",), Record)
    # Rows of another class, through the same builder, are still read by name.
    other = build(SimpleNamespace(id=2, name="b"), "t")
    assert list(vars(other).items()) == [("id", 2), ("name", "b"), ("secret", "t")]


def test_a_record_with_the_wrong_number_of_given_values_fails():
    build = types.row_builder(Thing, "secret")
    with pytest.raises(ValueError):
        build(Record(name="a", extra=None, id=1))
    with pytest.raises(ValueError):
        build(Record(name="a", extra=None, id=1), "s", "too many")


class Renaming(Record):
    """A record class whose attribute is not its item: read by name, not position."""

    __slots__ = ()

    @property
    def name(self) -> str:  # type: ignore[override]
        return "renamed"


class Shadowing(tuple):  # type: ignore[type-arg]
    _fields = ("id", "name")

    def __getattr__(self, name: str) -> Any:
        if name not in self._fields:
            raise AttributeError(name)
        return self[self._fields.index(name)]


@pytest.mark.parametrize("record", [Renaming(name="a", extra=None, id=1), Shadowing((1, "a"))])
def test_only_plain_named_tuples_are_read_by_position(record: Any) -> None:
    assert record_builders.record_builder(Thing, ("id", "name"), ("secret",), type(record)) is None
    built = types.row_builder(Thing, "secret")(record, "s")
    assert built == from_row(Thing, record, secret="s")


def test_only_names_that_read_as_themselves_are_written_into_code():
    # Python reads "ﬁeld" (a ligature) in source as "field": another attribute.
    assert reads_as_itself("field") and not reads_as_itself("\ufb01eld")
    assert not reads_as_itself("class") and not reads_as_itself("__x")
