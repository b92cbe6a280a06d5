"""JSON Schema of what an operation returns, read off its selection set.

A REST handler answers with the data of its operation's one root field, so that
operation's selection set, typed by the GraphQL schema, is exactly the response
body: documenting it from there leaves no second copy of each shape to drift.

A selection that is exactly one fragment spread becomes a named component (the
fragment's name without its `Fields` suffix, so `...TaskFields` is `Task`); any
other selection is described inline.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_nullable_type,
)

SCALARS: dict[str, dict[str, Any]] = {
    "String": {"type": "string"},
    "ID": {"type": "string"},
    "Int": {"type": "integer"},
    "Float": {"type": "number"},
    "Boolean": {"type": "boolean"},
    "UUID": {"type": "string", "format": "uuid"},
    "DateTime": {"type": "string", "format": "date-time"},
    "JSON": {},  # any JSON value
}


class ResponseSchemas:
    """Builds response schemas; `components` collects the named ones they refer to."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self._schema = schema
        self.components: dict[str, dict[str, Any]] = {}

    def of(self, document: DocumentNode) -> dict[str, Any]:
        """The schema of the data under the operation's single root field."""
        operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        root = (
            self._schema.mutation_type
            if operation.operation == OperationType.MUTATION
            else self._schema.query_type
        )
        assert root is not None
        fields = operation.selection_set.selections
        if len(fields) != 1 or not isinstance(fields[0], FieldNode):
            raise ValueError("a REST operation selects exactly one root field")
        field = fields[0]
        # Root query fields are nullable so that one failing field does not null the
        # others in `/graphql`; REST answers an error status instead of a null body.
        root_type = get_nullable_type(root.fields[field.name.value].type)
        return self._non_null(root_type, field.selection_set, fragments)

    def _typed(
        self,
        graphql_type: GraphQLOutputType,
        selection_set: SelectionSetNode | None,
        fragments: dict[str, FragmentDefinitionNode],
    ) -> dict[str, Any]:
        if isinstance(graphql_type, GraphQLNonNull):
            return self._non_null(graphql_type.of_type, selection_set, fragments)
        return {"anyOf": [self._non_null(graphql_type, selection_set, fragments), {"type": "null"}]}

    def _non_null(
        self,
        graphql_type: Any,
        selection_set: SelectionSetNode | None,
        fragments: dict[str, FragmentDefinitionNode],
    ) -> dict[str, Any]:
        if isinstance(graphql_type, GraphQLList):
            return {
                "type": "array",
                "items": self._typed(graphql_type.of_type, selection_set, fragments),
            }
        if isinstance(graphql_type, GraphQLEnumType):
            # REST answers with the SPEC strings, the values (torale.graphql.enum_wire).
            return {"type": "string", "enum": [v.value for v in graphql_type.values.values()]}
        if isinstance(graphql_type, GraphQLScalarType):
            return dict(SCALARS[graphql_type.name])
        assert isinstance(graphql_type, GraphQLObjectType) and selection_set is not None
        selections = selection_set.selections
        if len(selections) == 1 and isinstance(selections[0], FragmentSpreadNode):
            return self._component(graphql_type, fragments[selections[0].name.value], fragments)
        return self._object(graphql_type, selection_set, fragments)

    def _component(
        self,
        object_type: GraphQLObjectType,
        fragment: FragmentDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
    ) -> dict[str, Any]:
        name = fragment.name.value.removesuffix("Fields") or fragment.name.value
        described = self._object(object_type, fragment.selection_set, fragments)
        if self.components.setdefault(name, described) != described:
            raise ValueError(f"two different fragments would both be documented as {name}")
        return {"$ref": f"#/components/schemas/{name}"}

    def _object(
        self,
        object_type: GraphQLObjectType,
        selection_set: SelectionSetNode,
        fragments: dict[str, FragmentDefinitionNode],
    ) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in _fields(selection_set, fragments):
            definition = object_type.fields[field.name.value]
            key = field.alias.value if field.alias else field.name.value
            described = self._typed(definition.type, field.selection_set, fragments)
            if definition.description:
                described["description"] = definition.description
            properties[key] = described
            if isinstance(definition.type, GraphQLNonNull):
                required.append(key)
        return {"type": "object", "properties": properties, "required": required}


def _fields(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> list[FieldNode]:
    """The fields of a selection set, fragments spread in place."""
    found: list[FieldNode] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            found.append(selection)
        elif isinstance(selection, FragmentSpreadNode):
            found.extend(_fields(fragments[selection.name.value].selection_set, fragments))
        elif isinstance(selection, InlineFragmentNode):
            found.extend(_fields(selection.selection_set, fragments))
    return found
