"""`torale tasks ...`: create, inspect, change and run monitoring tasks."""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING, Any

import click

from torale.client_cli.commands.common import (
    USAGE_ERROR,
    api_command,
    fail,
    json_command,
    list_command,
    show,
    show_page,
)
from torale.client_cli.output import Spinner, Table, print_fields, print_json

if TYPE_CHECKING:
    from torale.client import Torale


@click.group("tasks")
def group() -> None:
    """Your monitoring tasks."""


TASKS = Table(
    ("id", "name", "state", "schedule", "next run"),
    attrgetter("id", "name", "state", "schedule", "next_run_at"),
)


def _show_task(task: Any, as_json: bool) -> None:
    show(task, as_json, lambda: print_fields(task.model_dump().items()))


@list_command(
    group,
    "list",
    click.option("--state", type=click.Choice(["active", "paused", "completed"])),
    click.option("--all", "every", is_flag=True, help="Every page."),
)
def tasks_list(
    client: Torale, state: str | None, every: bool, page: int, limit: int, as_json: bool
) -> None:
    """List your tasks, newest first."""
    if every:
        items = list(client.tasks.iter(state=state))
        show(items, as_json, lambda: TASKS.print(items))
        return
    show_page(client.tasks.list(state=state, page=page, limit=limit), as_json, TASKS)


def _channels(webhooks: tuple[str, ...], emails: tuple[str, ...]) -> list[dict[str, str]] | None:
    channels = [{"type": "webhook", "url": u} for u in webhooks]
    channels += [{"type": "email", "address": a} for a in emails]
    return channels or None


NOTIFY = click.Choice(["once", "always", "track_state"])


@json_command(
    group,
    "create",
    click.option("--query", "search_query", required=True, help="What to search for."),
    click.option("--condition", required=True, help="When to tell you."),
    click.option("--schedule", required=True, help='5-field cron, e.g. "0 9 * * *".'),
    click.option("--name"),
    click.option("--timezone", help="IANA name, e.g. Europe/Paris (default UTC)."),
    click.option("--notify", type=NOTIFY, help="once (default), always or track_state."),
    click.option("--webhook", multiple=True, help="Webhook URL to notify (repeatable)."),
    click.option("--email", multiple=True, help="Address to notify (repeatable)."),
    click.option("--public", is_flag=True, default=None, help="Share the task."),
    click.option("--run-now", is_flag=True, default=None, help="Also run it right away."),
    click.option("--idempotency-key", help="Makes re-running this command safe."),
    click.option("-q", "--quiet", is_flag=True, help="Print only the new task's id."),
)
def tasks_create(
    client: Torale,
    search_query: str,
    condition: str,
    schedule: str,
    name: str | None,
    timezone: str | None,
    notify: str | None,
    webhook: tuple[str, ...],
    email: tuple[str, ...],
    public: bool | None,
    run_now: bool | None,
    idempotency_key: str | None,
    quiet: bool,
    as_json: bool,
) -> None:
    """Create a task."""
    task = client.tasks.create(
        search_query=search_query,
        condition_description=condition,
        schedule=schedule,
        name=name,
        timezone=timezone,
        notify_behavior=notify,
        notifications=_channels(webhook, email),
        is_public=public,
        run_immediately=run_now,
        idempotency_key=idempotency_key,
    )
    if quiet:
        click.echo(task.id)
        return
    show(task, as_json, lambda: click.echo(f"Created task {task.id} ({task.name})"))


@json_command(group, "show", click.argument("task_id"))
def tasks_show(client: Torale, task_id: str, as_json: bool) -> None:
    """One task, every field."""
    _show_task(client.tasks.get(task_id), as_json)


@json_command(
    group,
    "update",
    click.argument("task_id"),
    click.option("--name"),
    click.option("--query", "search_query"),
    click.option("--condition", "condition_description"),
    click.option("--schedule"),
    click.option("--timezone"),
    click.option("--notify", "notify_behavior", type=NOTIFY),
    click.option("--public/--private", "is_public", default=None),
)
def tasks_update(client: Torale, task_id: str, as_json: bool, **fields: Any) -> None:
    """Change the fields given; the rest stay as they are."""
    changes = {k: v for k, v in fields.items() if v is not None}
    if not changes:
        fail("nothing to change: give at least one option (see --help)", USAGE_ERROR)
    _show_task(client.tasks.update(task_id, **changes), as_json)


def _transition(name: str, verb: str, help_text: str) -> None:
    @json_command(group, name, click.argument("task_id"), help=help_text)
    def command(client: Torale, task_id: str, as_json: bool) -> None:
        task = getattr(client.tasks, name)(task_id)
        show(task, as_json, lambda: click.echo(f"{verb} task {task.id} (now {task.state})"))


_transition("pause", "Paused", "Pause a task: its schedule stops until resumed.")
_transition("resume", "Resumed", "Resume a paused (or completed) task.")


@group.command("delete")
@click.argument("task_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@api_command
def tasks_delete(client: Torale, task_id: str, yes: bool) -> None:
    """Delete a task, its schedule and its history."""
    if not yes and not click.confirm(f"Delete task {task_id} and its history?"):
        fail("not deleted", USAGE_ERROR)
    client.tasks.delete(task_id)
    click.echo(f"Deleted task {task_id}")


@json_command(
    group,
    "run",
    click.argument("task_id"),
    click.option("--wait", is_flag=True, help="Follow the execution until its result."),
    click.option("--timeout", default=300.0, show_default=True, help="Seconds to --wait."),
)
def tasks_run(client: Torale, task_id: str, wait: bool, timeout: float, as_json: bool) -> None:
    """Run a task now; with --wait, print its answer and sources."""
    started = client.tasks.execute(task_id)
    if not wait:
        show(started, as_json, lambda: click.echo(f"Started execution {started.execution_id}"))
        return
    spinner = Spinner()
    try:
        execution = client.executions.wait(
            task_id,
            started.execution_id,
            timeout=timeout,
            poll_interval=0.5,
            on_poll=lambda e: spinner.spin(f"execution {e.status}"),
        )
    except TimeoutError as exc:
        spinner.done()
        fail(f"execution {started.execution_id} {exc}")
    spinner.done()
    if as_json:
        print_json(execution)
    else:
        _print_outcome(execution)
    if execution.status == "failed":
        fail(f"execution failed: {execution.error_message}")


def _print_outcome(execution: Any) -> None:
    result = execution.result
    met = "yes" if execution.condition_met else "no"
    click.echo(f"Execution {execution.id}: {execution.status}, condition met: {met}")
    if result is not None and result.answer:
        click.echo(f"\nAnswer: {result.answer}")
        if result.reasoning:
            click.echo(f"Reasoning: {result.reasoning}")
    if execution.change_summary:
        click.echo(f"Change: {execution.change_summary}")
    if execution.grounding_sources:
        click.echo("\nSources:")
        for source in execution.grounding_sources:
            click.echo(f"  - {source.title or source.uri}: {source.uri}")


EXECUTIONS = Table(
    ("id", "status", "condition met", "created", "answer"),
    lambda e: (e.id, e.status, e.condition_met, e.created_at, e.result and e.result.answer),
)


@list_command(
    group,
    "executions",
    click.argument("task_id"),
    click.option("--status", type=click.Choice(["pending", "running", "success", "failed"])),
)
def tasks_executions(
    client: Torale, task_id: str, status: str | None, page: int, limit: int, as_json: bool
) -> None:
    """A task's execution history, newest first."""
    result = client.executions.list(task_id, status=status, page=page, limit=limit)
    show_page(result, as_json, EXECUTIONS)


NOTIFICATIONS = Table(("when", "task", "answer"), attrgetter("created_at", "task_name", "answer"))


@list_command(group, "notifications", click.argument("task_id", required=False))
def tasks_notifications(
    client: Torale, task_id: str | None, page: int, limit: int, as_json: bool
) -> None:
    """Executions whose condition was met: of one task, or of all yours."""
    show_page(client.notifications.list(task_id, page=page, limit=limit), as_json, NOTIFICATIONS)
