"""GraphQL for task export and import (torale.tasks.transfer); REST runs the same fields."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from torale.graphql.types import Info
from torale.tasks import transfer
from torale.tasks.graphql import _policy


@strawberry.type(name="ExportedTask", description="A task as exported: no ids, no secrets")
class ExportedTaskType:
    name: str
    search_query: str
    condition_description: str
    schedule: str
    timezone: str
    notify_behavior: str
    executor_type: str
    config: JSON
    notifications: JSON = strawberry.field(
        description="Channels; webhook header values are withheld, their names listed "
        "under `redacted_headers`"
    )
    is_public: bool
    failure_threshold: int
    output_schema: JSON | None
    state: str


@strawberry.type(name="TaskExport")
class TaskExportType:
    version: int
    exported_at: datetime
    tasks: list[ExportedTaskType]


@strawberry.type(name="TaskImportItem")
class TaskImportItemType:
    index: int = strawberry.field(description="Position of the item in `tasks`")
    status: str = strawberry.field(description="created, skipped, invalid or failed")
    name: str | None = strawberry.field(description="The item's key: the task's name")
    task_id: uuid.UUID | None = strawberry.field(description="The created task (when applied)")
    reason: str | None = strawberry.field(description="Why it was skipped or failed")
    errors: JSON = strawberry.field(description="Why it is invalid: `{loc, msg, type}` entries")


@strawberry.type(name="TaskImportReport")
class TaskImportReportType:
    dry_run: bool
    atomic: bool
    applied: bool = strawberry.field(
        description="Whether anything was written: false for a dry run, and for an atomic "
        "import with an invalid item (then `created` items are those that would have been)"
    )
    created: int
    skipped: int
    invalid: int
    failed: int
    items: list[TaskImportItemType]


@strawberry.input
class ImportTasksInput:
    # Items may be null: each is reported (invalid), as any other non-object item.
    tasks: list[JSON | None] = strawberry.field(
        description="Task objects as export gives them (or as create takes them, plus `state`)"
    )
    dry_run: bool = False
    atomic: bool = strawberry.field(
        default=False, description="Create nothing unless every item is valid"
    )


def _report(report: transfer.ImportReport) -> TaskImportReportType:
    status = transfer.ItemStatus
    return TaskImportReportType(
        dry_run=report.dry_run,
        atomic=report.atomic,
        applied=report.applied,
        created=report.count(status.CREATED),
        skipped=report.count(status.SKIPPED),
        invalid=report.count(status.INVALID),
        failed=report.count(status.FAILED),
        items=[TaskImportItemType(**vars(item)) for item in report.items],
    )


@strawberry.type
class TaskTransferQuery:
    @strawberry.field(description="All of the caller's tasks, oldest first, ready to import")
    async def export_tasks(self, info: Info) -> TaskExportType:
        ctx = info.context
        export = await transfer.export_tasks(ctx.session, ctx.subject)
        return TaskExportType(
            version=export.version,
            exported_at=export.exported_at,
            tasks=[ExportedTaskType(**item) for item in export.tasks],
        )


@strawberry.type
class TaskTransferMutation:
    @strawberry.mutation(description="Create tasks from an export; each item reported")
    async def import_tasks(self, info: Info, input: ImportTasksInput) -> TaskImportReportType:
        ctx = info.context
        report = await transfer.import_tasks(
            ctx.session,
            ctx.resources.scheduler,
            ctx.subject,
            list(input.tasks),
            policy=_policy(info),
            dry_run=input.dry_run,
            atomic=input.atomic,
        )
        return _report(report)
