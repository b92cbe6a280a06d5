"""REST speaks SPEC's enum strings (`"active"`), GraphQL its enum names (`ACTIVE`).

A REST handler runs a GraphQL operation in-process, so both directions are
translated here, once per operation, from the operation's own document:

- variables on the way in: every value at a position typed as an enum is turned from
  its SPEC string into the enum name; a string that is no value of the enum is the
  same 422 the domain gives (`Must be one of: ...`), located like the REST input
  (`["body", field]` inside an input object, `["query", name]` for a plain argument);
- data on the way out: every selected field typed as an enum is turned back from
  the name into the SPEC string.

What to visit is worked out when the operation is loaded; a request only walks the
positions that hold an enum, and an operation without one costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_input_type,
    type_from_ast,
)

from torale.errors import FieldError, ValidationFailed

Loc = tuple[str | int, ...]


class _EnumIn:
    """SPEC string -> enum name, for one enum-typed input position."""

    __slots__ = ("names", "values")

    def __init__(self, enum: GraphQLEnumType) -> None:
        self.names = {value.value: name for name, value in enum.values.items()}
        self.values = ", ".join(str(value.value) for value in enum.values.values())


class _ListIn:
    __slots__ = ("item",)

    def __init__(self, item: _InPlan) -> None:
        self.item = item


class _ObjectIn:
    __slots__ = ("fields",)

    def __init__(self, fields: dict[str, _InPlan]) -> None:
        self.fields = fields


_InPlan = _EnumIn | _ListIn | _ObjectIn


def _input_plan(type_: GraphQLInputType, seen: frozenset[str] = frozenset()) -> _InPlan | None:
    """How to translate a value of `type_`, or None when it holds no enum."""
    if isinstance(type_, GraphQLNonNull):
        return _input_plan(type_.of_type, seen)
    if isinstance(type_, GraphQLList):
        item = _input_plan(type_.of_type, seen)
        return _ListIn(item) if item is not None else None
    if isinstance(type_, GraphQLEnumType):
        return _EnumIn(type_)
    if isinstance(type_, GraphQLInputObjectType) and type_.name not in seen:
        fields = {
            name: plan
            for name, field in type_.fields.items()
            if (plan := _input_plan(field.type, seen | {type_.name})) is not None
        }
        return _ObjectIn(fields) if fields else None
    return None


def _translate_in(plan: _InPlan, value: Any, loc: Loc) -> Any:
    if value is None:
        return None
    if isinstance(plan, _EnumIn):
        name = plan.names.get(value) if isinstance(value, str) else None
        if name is None:
            raise ValidationFailed([FieldError(loc, f"Must be one of: {plan.values}")])
        return name
    if isinstance(plan, _ListIn):
        if isinstance(value, list):
            return [_translate_in(plan.item, item, (*loc, i)) for i, item in enumerate(value)]
        return _translate_in(plan.item, value, loc)  # GraphQL takes one item for a list
    if not isinstance(value, Mapping):
        return value  # not an object: GraphQL's own coercion refuses it
    translated = dict(value)
    for name, field_plan in plan.fields.items():
        if name in translated:
            translated[name] = _translate_in(field_plan, translated[name], (*loc, name))
    return translated


class _EnumOut:
    """Enum name -> SPEC string, for one enum-typed output field."""

    __slots__ = ("values",)

    def __init__(self, enum: GraphQLEnumType) -> None:
        self.values = {name: value.value for name, value in enum.values.items()}

    def convert(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.values.get(value, value)
        if isinstance(value, list):
            return [self.convert(item) for item in value]
        return value


# Response key -> the enum there, or the plan of the object selected there.
_OutPlan = dict[str, "_EnumOut | _OutPlan"]


def _merge(into: _OutPlan, other: _OutPlan) -> None:
    for key, node in other.items():
        existing = into.get(key)
        if isinstance(existing, dict) and isinstance(node, dict):
            _merge(existing, node)
        else:
            into[key] = node


class EnumWire:
    """The translation of one operation (a document holding one named operation)."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self._schema = schema
        operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        self._fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._inputs: dict[str, tuple[_InPlan, Loc]] = {}
        for definition in operation.variable_definitions or ():
            type_ = type_from_ast(schema, definition.type)
            plan = _input_plan(type_) if is_input_type(type_) else None
            if plan is None:
                continue
            name = definition.variable.name.value
            # An input object is the request body; anything else a query parameter.
            body = isinstance(get_named_type(type_), GraphQLInputObjectType)
            self._inputs[name] = (plan, ("body",) if body else ("query", name))
        root = schema.get_root_type(operation.operation)
        assert root is not None
        self._output = _OutSteps(self._selection_plan(operation.selection_set, root, frozenset()))

    def to_graphql(self, variables: dict[str, Any] | None) -> dict[str, Any] | None:
        """The variables with SPEC strings replaced by enum names (a copy when changed)."""
        if not variables or not self._inputs:
            return variables
        translated = dict(variables)
        for name, (plan, loc) in self._inputs.items():
            if name in translated:
                translated[name] = _translate_in(plan, translated[name], loc)
        return translated

    def to_wire(self, data: dict[str, Any]) -> dict[str, Any]:
        """`data` with enum names replaced by SPEC strings (changed in place)."""
        if self._output.enums or self._output.objects:
            _translate_out(self._output, data)
        return data

    def _selection_plan(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType, seen: frozenset[str]
    ) -> _OutPlan:
        plan: _OutPlan = {}
        if selection_set is None:
            return plan
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self._field_plan(selection, parent, seen, plan)
            elif isinstance(selection, InlineFragmentNode):
                target = parent
                if selection.type_condition is not None:
                    target = self._schema.get_type(selection.type_condition.name.value) or parent
                _merge(plan, self._selection_plan(selection.selection_set, target, seen))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self._fragments.get(name)
                if fragment is None or name in seen:
                    continue
                target = self._schema.get_type(fragment.type_condition.name.value) or parent
                _merge(plan, self._selection_plan(fragment.selection_set, target, seen | {name}))
        return plan

    def _field_plan(
        self, node: FieldNode, parent: GraphQLNamedType, seen: frozenset[str], plan: _OutPlan
    ) -> None:
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return
        field = parent.fields.get(node.name.value)
        if field is None:
            return  # __typename, or a field validation already refused
        key = node.alias.value if node.alias else node.name.value
        named = get_named_type(field.type)
        if isinstance(named, GraphQLEnumType):
            plan[key] = _EnumOut(named)
            return
        sub = self._selection_plan(node.selection_set, named, seen)
        if sub:
            _merge(plan, {key: sub})


class _OutSteps:
    """An `_OutPlan` split for walking a result: its enum fields (with each enum's
    names -> values, for the common case of a single name), then its object fields.
    The two touch different keys, so the order between them changes nothing."""

    __slots__ = ("enums", "objects")

    def __init__(self, plan: _OutPlan) -> None:
        self.enums = tuple(
            (key, node, node.values) for key, node in plan.items() if isinstance(node, _EnumOut)
        )
        self.objects = tuple(
            (key, _OutSteps(node)) for key, node in plan.items() if not isinstance(node, _EnumOut)
        )


def _translate_out(plan: _OutSteps, data: Any) -> None:
    # graphql-core's results are plain dicts and lists (cheaper to test than ABCs).
    # A list's items are walked here, not by a call per item (a page of objects).
    if isinstance(data, dict):
        items: Any = (data,)
    elif isinstance(data, list):
        items = data
    else:
        return
    enums, objects = plan.enums, plan.objects
    for item in items:
        if not isinstance(item, dict):
            if isinstance(item, list):
                _translate_out(plan, item)
            continue
        for key, node, values in enums:
            value = item.get(key)
            if value is None:
                continue
            item[key] = values.get(value, value) if isinstance(value, str) else node.convert(value)
        for key, steps in objects:
            value = item.get(key)
            if value is not None:
                _translate_out(steps, value)
