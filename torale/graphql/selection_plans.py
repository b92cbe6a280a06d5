"""Sub-selections collected once per operation, and the plan of how each is completed.

graphql-core collects the fields of an object's sub-selection (following fragments,
applying `@skip`/`@include`) once per request and list field. For a document compiled
at start-up and served again and again, the answer is the same every time unless a
directive or a fragment variable makes it depend on the request's variables. So for
the same field nodes and object type, a selection without any directive (checked once,
through the fragments it spreads) is collected once and shared by every request.

Each collected selection carries its *plan*: per response key, how the field is read
(`torale.graphql.field_plans`), or None for graphql-core's path. The executor
(`torale.graphql.plain_fields`) then completes each object of a list in one loop.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
)
from graphql.execution.collect_fields import CollectedFields, FieldDetails, FragmentDetails

from torale.bounded import remember
from torale.graphql.field_plans import FieldRead, read_of

# One field of a plan: response key, its field details, how it is read (None: by
# graphql-core), and the read's function, unchanged type and coercion, unpacked for
# the loop.
Step: TypeAlias = tuple[str, list[FieldDetails], FieldRead | None, Any, Any, Any]


class PlannedFields(dict[str, list[FieldDetails]]):
    """A grouped field set that knows how each of its fields is completed on `parent`."""

    __slots__ = ("completed", "parent", "run", "steps")

    def __init__(
        self, schema: GraphQLSchema, parent: GraphQLObjectType, grouped: dict[str, Any]
    ) -> None:
        super().__init__(grouped)
        self.parent = parent
        self.steps = tuple(plan_step(schema, parent, key, details) for key, details in self.items())
        # Objects completed by the loop so far, and the loop written out for this
        # selection once it has served enough of them (`torale.graphql.field_code`).
        self.completed = 0
        self.run: Any = None


def plan_step(
    schema: GraphQLSchema, parent: GraphQLObjectType, key: str, details: list[FieldDetails]
) -> Step:
    node = details[0].node
    read = None if node.arguments else read_of(schema, parent, node.name.value)
    if read is None:
        return key, details, None, None, None, None
    return key, details, read, read.read, read.same, read.coerce


def planned(schema: GraphQLSchema, parent: GraphQLObjectType, collected: CollectedFields) -> Any:
    """`collected` with its grouped field set planned (unless deferred parts need the
    incremental executor's own handling)."""
    if collected.new_defer_usages:
        return collected
    return collected._replace(grouped_field_set=PlannedFields(schema, parent, collected[0]))


# (object type, id of each field node) -> (the nodes, the fragments read, the
# collected fields). Holding the nodes keeps their ids from being reused by others.
_Entry: TypeAlias = tuple[tuple[FieldNode, ...], tuple[tuple[str, Any], ...], CollectedFields]
_SHARED: dict[tuple[Any, ...], _Entry] = {}
_SHARED_MAX = 1024


def shared_key(
    return_type: GraphQLObjectType, details: list[FieldDetails]
) -> tuple[Any, ...] | None:
    """The cache key of a sub-selection, or None when it depends on the request."""
    key: list[Any] = [return_type]
    for detail in details:
        if detail.defer_usage is not None or detail.fragment_variable_values is not None:
            return None
        key.append(id(detail.node))
    return tuple(key)


def shared_lookup(
    key: tuple[Any, ...], fragments: dict[str, FragmentDetails]
) -> CollectedFields | None:
    entry = _SHARED.get(key)
    if entry is None:
        return None
    _nodes, read_fragments, collected = entry
    # The same nodes with other fragments of the same names (another document
    # holding them) would collect differently.
    for name, definition in read_fragments:
        details = fragments.get(name)
        if (details.definition if details is not None else None) is not definition:
            return None
    return collected


def shared_store(
    key: tuple[Any, ...],
    details: list[FieldDetails],
    fragments: dict[str, FragmentDetails],
    collected: CollectedFields,
) -> None:
    """Keep `collected` for every request if nothing in it depends on one."""
    read_fragments: dict[str, FragmentDefinitionNode | None] = {}
    for detail in details:
        if not _static(detail.node.selection_set, fragments, read_fragments):
            return
    nodes = tuple(detail.node for detail in details)
    remember(_SHARED, key, (nodes, tuple(read_fragments.items()), collected), _SHARED_MAX)


def _static(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDetails],
    read_fragments: dict[str, FragmentDefinitionNode | None],
) -> bool:
    """Whether collecting `selection_set` reads no variable: no directive anywhere in
    it or the fragments it spreads, and no fragment taking variables."""
    if selection_set is None:
        return True
    for selection in selection_set.selections:
        if selection.directives:
            return False
        if isinstance(selection, InlineFragmentNode):
            if not _static(selection.selection_set, fragments, read_fragments):
                return False
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in read_fragments:
                continue
            fragment = fragments.get(name)
            read_fragments[name] = fragment.definition if fragment is not None else None
            if fragment is None:
                continue  # collected as nothing, and stays so while it is missing
            if fragment.variable_signatures or getattr(
                fragment.definition, "variable_definitions", None
            ):
                return False
            if not _static(fragment.definition.selection_set, fragments, read_fragments):
                return False
    return True
