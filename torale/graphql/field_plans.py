"""How one field of an object type is read without graphql-core's per-field machinery.

Decided once per (object type, field name), by looking at what Strawberry built:

- a *basic* field (no resolver of its own, no arguments, no field extensions, the
  configured default resolver): its value is `default_resolver(source, python_name)`;
- a field whose resolver is a plain method of the object: synchronous, no arguments,
  no `info`, `root` or `parent` parameter, no field extensions (so no permission
  classes): its value is the method called on the source, exactly Strawberry's call.

Either way the field is typed as a scalar or an enum (nullable or not), and the
schema has no exception handlers (they would have to see the resolver's errors).
Every other field takes graphql-core's path unchanged: `read_of` says None.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import datetime
from operator import attrgetter
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from graphql import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    Undefined,
    is_leaf_type,
)
from strawberry.resolvers import is_default_resolver
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from torale.graphql.scalars import FORMATTED_UTC, serialize_datetime


class FieldRead(NamedTuple):
    """How to read and complete one leaf field."""

    field: GraphQLField
    read: Callable[[Any], Any]  # source -> value (the attribute, or the method's result)
    type: GraphQLOutputType  # as declared (for errors)
    leaf: GraphQLLeafType
    coerce: Callable[[Any], Any]  # the leaf's coerce_output_value (`_coercion`)
    # The Python type whose values the scalar returns unchanged (str for String and ID,
    # bool for Boolean): such a value needs no call at all.
    same: builtins.type | None  # (`type` here is the field above)
    non_null: bool
    null_message: str
    # The attribute `read` gets with plain `getattr` (the default resolver), else None:
    # then `source.<attribute>` is the same read (`torale.graphql.field_code`).
    attribute: str | None = None
    # Answers the coercion has remembered, for values of exactly `known_kind`: an
    # enum's names for the texts it has coerced (`_remembered`), or the texts of UTC
    # timestamps (`torale.graphql.scalars`). The written-out loop looks them up.
    known: dict[Any, Any] | None = None
    known_kind: builtins.type | None = None


_UNCHANGED: dict[GraphQLLeafType, type] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
}

# Per object type: field name -> how it is read, or None when graphql-core runs it.
_READS: WeakKeyDictionary[GraphQLObjectType, dict[str, FieldRead | None]] = WeakKeyDictionary()
# A sentinel, typed Any so that a read taken from the cache keeps its own type.
_UNKNOWN: Any = object()


def read_of(schema: GraphQLSchema, parent: GraphQLObjectType, name: str) -> FieldRead | None:
    """How `parent.name` is read, decided on first use."""
    reads = _READS.get(parent)
    if reads is None:
        reads = _READS[parent] = {}
    read = reads.get(name, _UNKNOWN)
    if read is _UNKNOWN:
        read = reads[name] = _decide(schema, parent, name)
    return read


def _decide(schema: GraphQLSchema, parent: GraphQLObjectType, name: str) -> FieldRead | None:
    field = parent.fields.get(name)
    if field is None or field.args or field.resolve is None or _has_exception_handlers(schema):
        return None
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if (
        not isinstance(definition, StrawberryField)
        # A field class of its own may compute its result differently.
        or type(definition).get_result is not StrawberryField.get_result
        or definition.extensions
        or definition.arguments
    ):
        return None
    attribute_read = _attribute_read(field, definition)
    read = attribute_read or _method_read(definition)
    type_ = field.type
    non_null = isinstance(type_, GraphQLNonNull)
    leaf = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if read is None or not is_leaf_type(leaf):
        return None
    coerce, texts = _coercion(leaf)
    known: dict[Any, Any] | None = texts
    known_kind: type | None = str if known is not None else None
    if coerce is serialize_datetime:
        known, known_kind = FORMATTED_UTC, datetime
    return FieldRead(
        field=field,
        read=read,
        type=type_,
        leaf=leaf,
        coerce=coerce,
        known=known,
        known_kind=known_kind,
        same=_UNCHANGED.get(leaf),
        non_null=non_null,
        # graphql-core's own wording (complete_value).
        null_message=f"Cannot return null for non-nullable field {parent}.{name}.",
        attribute=(definition.python_name if isinstance(attribute_read, attrgetter) else None),
    )


def _coercion(leaf: GraphQLLeafType) -> tuple[Callable[[Any], Any], dict[str, Any] | None]:
    """The leaf's `coerce_output_value`, with the common answers found sooner; for an
    enum, also the names it has given for `str` values so far."""
    coerce = leaf.coerce_output_value
    if leaf is GraphQLInt:
        # serialize_int gives an int in range back as it is; anything else is its call.
        def coerce_int(value: Any) -> Any:
            if type(value) is int and GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT:
                return value
            return coerce(value)

        return coerce_int, None
    if isinstance(leaf, GraphQLEnumType):
        return _remembered(coerce)
    return coerce, None


def _remembered(coerce: Callable[[Any], Any]) -> tuple[Callable[[Any], Any], dict[str, Any]]:
    """An enum's coercion, remembered per value: an enum's values are fixed, and the
    name for a value depends on nothing but the value and its type (Strawberry checks
    the type first). A value it refuses raises, so is never remembered.

    Also the remembered names of `str` values (exactly `str`) by the value alone, a
    name (never null) for each: `coerce_enum(text)` gives `known[text]` for any text
    in it, which the written-out loop looks up itself (`torale.graphql.field_code`)."""
    names: dict[tuple[type, Any], Any] = {}
    known: dict[str, Any] = {}

    def coerce_enum(value: Any) -> Any:
        key = (type(value), value)
        try:
            return names[key]
        except KeyError:
            name = coerce(value)
            if len(names) < _ENUM_VALUES_KEPT:
                names[key] = name
                if key[0] is str and name is not None and name is not Undefined:
                    known[value] = name
            return name
        except TypeError:  # unhashable: asked each time
            return coerce(value)

    return coerce_enum, known


_ENUM_VALUES_KEPT = 256


def _has_exception_handlers(schema: GraphQLSchema) -> bool:
    strawberry_schema = (schema.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    return bool(getattr(strawberry_schema, "exception_handlers", ()))


def _attribute_read(
    field: GraphQLField, definition: StrawberryField
) -> Callable[[Any], Any] | None:
    resolve = field.resolve
    if not definition.is_basic_field or resolve is None or not is_default_resolver(resolve):
        return None
    default, attribute = definition.default_resolver, definition.python_name
    if default is builtins.getattr:
        return attrgetter(attribute)  # the same lookup, one call less
    return lambda source: default(source, attribute)


def _method_read(definition: StrawberryField) -> Callable[[Any], Any] | None:
    resolver = definition.base_resolver
    if resolver is None or definition.is_async:
        return None
    if (
        resolver.self_parameter is None
        or resolver.info_parameter is not None
        or resolver.root_parameter is not None
        or resolver.parent_parameter is not None
    ):
        return None
    method = resolver.wrapped_func
    # Strawberry calls it with the source as `self` and nothing else.
    return method if callable(method) else None
