"""Run named GraphQL operations in-process: the REST layer's only way into the domain.

Every `operations.graphql` file in the package is checked by the shared pipeline
(`torale.graphql.pipeline`: parsed, validated, guarded) at start-up, and each operation
compiled for good by its first run; a request then only coerces its variables and runs
the resolvers, through the same `Pipeline.run` as `/graphql`: the same guards, input
checks, unit of work and error mapping. A domain error raised by a resolver comes back
out as that same `ToraleError`, so the HTTP layer answers with the status and body the
error class decides.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    Node,
    OperationDefinitionNode,
    Visitor,
    parse,
    print_ast,
    visit,
)
from strawberry import Schema

from torale.errors import ToraleError, ValidationFailed
from torale.graphql.context import ToraleContext
from torale.graphql.enum_wire import EnumWire
from torale.graphql.input_guard import refuse_bad_input
from torale.graphql.pipeline import CompiledDocument, Pipeline

log = logging.getLogger(__name__)

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class OperationError(Exception):
    """An operation file does not parse or validate against the schema."""


def operation_files(root: Path = PACKAGE_ROOT) -> list[Path]:
    return sorted(root.rglob("operations.graphql"))


def _split_operations(document: DocumentNode, source: Path) -> dict[str, DocumentNode]:
    """One document per named operation, each with just the fragments it spreads."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations: dict[str, DocumentNode] = {}
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if definition.name is None:
            raise OperationError(f"{source}: every REST operation needs a name")
        if definition.name.value in operations:
            raise OperationError(f"{source}: operation {definition.name.value} is defined twice")
        needed = _spread_fragments(definition, fragments)
        operations[definition.name.value] = DocumentNode(
            definitions=(definition, *(fragments[n] for n in sorted(needed)))
        )
    return operations


class _SpreadNames(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: Any) -> None:
        self.names.add(spread.name.value)


def _spread_fragments(node: Node, fragments: dict[str, FragmentDefinitionNode]) -> set[str]:
    """Names of the fragments `node` spreads, directly or through other fragments."""
    needed: set[str] = set()
    pending = [node]
    while pending:
        collect = _SpreadNames()
        visit(pending.pop(), collect)
        for name in collect.names - needed:
            if name not in fragments:
                raise OperationError(f"unknown fragment {name}")
            needed.add(name)
            pending.append(fragments[name])
    return needed


@dataclass(frozen=True)
class _Loaded:
    """An operation ready to run: its document, compiled, and its enum translation."""

    document: DocumentNode
    compiled: CompiledDocument
    wire: EnumWire


class OperationRegistry:
    """Every REST operation, checked at start-up and compiled again by its first run.

    Start-up parses and validates each operation, so a broken one stops the app; it then
    keeps only the operation's text (about 11 KB for all of them). Its document, compiled
    form and enum translation (~10 KiB each, ~0.4 MiB for all) are rebuilt from that text
    by the first request that runs it and kept: an idle API holds those of the operations
    it has served, not all of them (issue 12: idle RSS).
    """

    def __init__(self, schema: Schema, files: Iterable[Path] | None = None) -> None:
        self._schema = schema
        pipeline = getattr(schema, "pipeline", None)
        self._pipeline: Pipeline = pipeline or Pipeline(
            schema._schema, execution_context_class=schema.execution_context_class
        )
        self._texts: dict[str, str] = {}
        self._loaded: dict[str, _Loaded] = {}
        for path in files if files is not None else operation_files():
            self.add_source(path.read_text(), path)

    def add_source(self, text: str, source: Path | str = "<string>") -> None:
        try:
            # Without token locations (about a third of the registry's memory): a REST
            # error reaches the client as its domain error's body or as a 500, never
            # with GraphQL locations (see `_domain_error`).
            document = parse(text, no_location=True)
        except GraphQLError as exc:
            raise OperationError(f"{source}: {exc.message}") from exc
        for name, operation in _split_operations(document, Path(str(source))).items():
            if name in self._texts:
                raise OperationError(f"{source}: operation {name} is defined twice")
            operation_text = print_ast(operation)
            compiled = self._pipeline.compile_document(operation, operation_text)
            if compiled.errors:
                raise OperationError(f"{source}: {name}: {compiled.errors[0].message}")
            # Built once now too, so whatever it refuses also stops start-up.
            EnumWire(self._schema._schema, operation)
            self._texts[name] = operation_text

    def _load(self, name: str) -> _Loaded:
        loaded = self._loaded.get(name)
        if loaded is None:
            text = self._texts[name]
            # The printed operation parses back into the document that was validated.
            document = parse(text, no_location=True)
            compiled = self._pipeline.compile_document(document, text)
            assert not compiled.errors, f"{name} validated at start-up"
            loaded = self._loaded[name] = _Loaded(
                document, compiled, EnumWire(self._schema._schema, document)
            )
        return loaded

    def __contains__(self, name: str) -> bool:
        return name in self._texts

    @property
    def loaded(self) -> frozenset[str]:
        """The operations held compiled: those run (or documented) since start-up."""
        return frozenset(self._loaded)

    @property
    def schema(self) -> GraphQLSchema:
        return self._schema._schema

    def root_key(self, name: str) -> str:
        """The response key of `name`'s one root field (REST operations select one)."""
        operation = self._load(name).document.definitions[0]
        assert isinstance(operation, OperationDefinitionNode)
        [root] = operation.selection_set.selections
        assert isinstance(root, FieldNode)
        return root.alias.value if root.alias else root.name.value

    def document(self, name: str) -> DocumentNode:
        """The validated document of `name` (it documents the REST response, too)."""
        return self._load(name).document

    async def run(
        self, name: str, context: ToraleContext, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Execute `name`; commit and return its data, or roll back and raise its error."""
        loaded = self._load(name)
        wire = loaded.wire
        try:
            refuse_bad_input(variables)
            # REST sends SPEC's enum strings; the schema takes enum names.
            variables = wire.to_graphql(variables)
        except ValidationFailed:
            await context.finish(succeeded=False)
            raise
        result = await self._pipeline.run(
            loaded.compiled,
            context=context,
            variables=variables,
            operation_name=name,
            # Checked above; the enum names put in their place are plain ASCII.
            inputs_checked=True,
        )
        if result.errors:
            raise _domain_error(name, result.errors)
        assert result.data is not None
        return wire.to_wire(result.data)


def _domain_error(name: str, errors: list[GraphQLError]) -> Exception:
    for error in errors:
        if isinstance(error.original_error, ToraleError):
            return error.original_error
    # Variables are shaped by the REST layer, so anything else is our bug.
    # Logged once, with its traceback, by the API's handler of unexpected errors.
    first = errors[0]
    return first.original_error or RuntimeError(f"REST operation {name} failed: {first.message}")
