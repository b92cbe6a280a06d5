"""`torale login`, `whoami`, `tasks`, `keys`, `webhooks` and `admin`: the REST API from a
terminal, through the Python client (`torale.client`), never through server code.

Exit codes: 0 done, 1 the API (or the network) refused, 2 a usage or configuration
mistake. Errors are one line on stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import wraps
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import click

from torale.client_cli.output import (
    Spinner,
    page_footer,
    print_fields,
    print_json,
    print_table,
)

if TYPE_CHECKING:
    from torale.client import Torale

API_ERROR, USAGE_ERROR = 1, 2

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
page_option = click.option("--page", default=1, show_default=True, type=click.IntRange(1))


def fail(message: str, code: int = API_ERROR) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def api_command(command: Callable[..., Any]) -> Callable[..., Any]:
    """Runs the command with a client; any client error becomes one line and an exit code."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from torale.client import APIStatusError, ConfigurationError, Torale, ToraleError

        try:
            with Torale() as client:
                return command(client, *args, **kwargs)
        except ConfigurationError as exc:
            fail(str(exc), USAGE_ERROR)
        except APIStatusError as exc:
            fail(f"{exc.status_code}: {exc}")
        except ToraleError as exc:
            fail(str(exc))

    return wrapper


def show(value: Any, as_json: bool, human: Callable[[], None]) -> None:
    if as_json:
        print_json(value)
    else:
        human()


@dataclass(frozen=True)
class Table:
    """What a list command prints of each item: its column headers and `row(item)`."""

    headers: tuple[str, ...]
    row: Callable[[Any], Sequence[Any]]

    def print(self, items: Iterable[Any]) -> None:
        print_table(self.headers, map(self.row, items))


def list_command(
    group: click.Group, name: str, *parameters: Callable[..., Any], limit: int = 20
) -> Callable[[Callable[..., Any]], Any]:
    """A paged list command of `group`, run with a client: its own `parameters`, then
    --page, --limit and --json."""
    options = (
        api_command,
        json_option,
        click.option("--limit", default=limit, show_default=True, type=click.IntRange(1, 100)),
        page_option,
        *reversed(parameters),
    )

    def decorate(command: Callable[..., Any]) -> Any:
        for option in options:
            command = option(command)
        return group.command(name)(command)

    return decorate


def show_page(result: Any, as_json: bool, table: Table) -> None:
    """One page of a list command: as JSON, or the table and the page footer."""

    def human() -> None:
        table.print(result.items)
        page_footer(result)

    show(result, as_json, human)


# --- account -------------------------------------------------------------------------


@click.command()
@click.option("--api-key", help="An API key (sk_...); asked for when not given.")
@click.option("--url", "api_url", help="The API's base URL.", show_default="http://127.0.0.1:8000")
def login(api_key: str | None, api_url: str | None) -> None:
    """Check an API key against the API and save it (with the URL) for later commands."""
    from torale.client import APIStatusError, Torale, ToraleError
    from torale.client import config as client_config

    api_url = api_url or client_config.resolve(api_key="unused").api_url
    if not api_key:
        api_key = click.prompt("API key", hide_input=True).strip()
    try:
        with Torale(api_key=api_key, base_url=api_url, max_retries=0) as client:
            me = client.users.me()
    except APIStatusError as exc:
        fail(f"{exc.status_code}: {exc}")
    except ToraleError as exc:
        fail(str(exc))
    path = client_config.config_path()
    client_config.write_config_file(path, api_key, api_url)
    click.echo(f"Logged in to {api_url} as {me.email}; saved to {path}")


@click.command()
@json_option
@api_command
def whoami(client: Torale, as_json: bool) -> None:
    """The user your API key belongs to."""
    me = client.users.me()
    show(
        me,
        as_json,
        lambda: print_fields(
            [("email", me.email), ("id", me.id), ("role", me.role), ("api", client.base_url)]
        ),
    )


# --- tasks ---------------------------------------------------------------------------


@click.group()
def tasks() -> None:
    """Your monitoring tasks."""


TASKS = Table(
    ("id", "name", "state", "schedule", "next run"),
    attrgetter("id", "name", "state", "schedule", "next_run_at"),
)


def _show_task(task: Any, as_json: bool) -> None:
    show(task, as_json, lambda: print_fields(task.model_dump().items()))


@list_command(
    tasks,
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


@tasks.command("create")
@click.option("--query", "search_query", required=True, help="What to search for.")
@click.option("--condition", required=True, help="When to tell you.")
@click.option("--schedule", required=True, help='5-field cron, e.g. "0 9 * * *".')
@click.option("--name")
@click.option("--timezone", help="IANA name, e.g. Europe/Paris (default UTC).")
@click.option("--notify", type=NOTIFY, help="once (default), always or track_state.")
@click.option("--webhook", multiple=True, help="Webhook URL to notify (repeatable).")
@click.option("--email", multiple=True, help="Address to notify (repeatable).")
@click.option("--public", is_flag=True, default=None, help="Share the task.")
@click.option("--run-now", is_flag=True, default=None, help="Also run it right away.")
@click.option("--idempotency-key", help="Makes re-running this command safe.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the new task's id.")
@json_option
@api_command
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


@tasks.command("show")
@click.argument("task_id")
@json_option
@api_command
def tasks_show(client: Torale, task_id: str, as_json: bool) -> None:
    """One task, every field."""
    _show_task(client.tasks.get(task_id), as_json)


@tasks.command("update")
@click.argument("task_id")
@click.option("--name")
@click.option("--query", "search_query")
@click.option("--condition", "condition_description")
@click.option("--schedule")
@click.option("--timezone")
@click.option("--notify", "notify_behavior", type=NOTIFY)
@click.option("--public/--private", "is_public", default=None)
@json_option
@api_command
def tasks_update(client: Torale, task_id: str, as_json: bool, **fields: Any) -> None:
    """Change the fields given; the rest stay as they are."""
    changes = {k: v for k, v in fields.items() if v is not None}
    if not changes:
        fail("nothing to change: give at least one option (see --help)", USAGE_ERROR)
    _show_task(client.tasks.update(task_id, **changes), as_json)


def _transition(name: str, verb: str, help_text: str) -> None:
    @tasks.command(name, help=help_text)
    @click.argument("task_id")
    @json_option
    @api_command
    def command(client: Torale, task_id: str, as_json: bool) -> None:
        task = getattr(client.tasks, name)(task_id)
        show(task, as_json, lambda: click.echo(f"{verb} task {task.id} (now {task.state})"))


_transition("pause", "Paused", "Pause a task: its schedule stops until resumed.")
_transition("resume", "Resumed", "Resume a paused (or completed) task.")


@tasks.command("delete")
@click.argument("task_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@api_command
def tasks_delete(client: Torale, task_id: str, yes: bool) -> None:
    """Delete a task, its schedule and its history."""
    if not yes and not click.confirm(f"Delete task {task_id} and its history?"):
        fail("not deleted", USAGE_ERROR)
    client.tasks.delete(task_id)
    click.echo(f"Deleted task {task_id}")


@tasks.command("run")
@click.argument("task_id")
@click.option("--wait", is_flag=True, help="Follow the execution until its result.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to --wait.")
@json_option
@api_command
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
    tasks,
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


@list_command(tasks, "notifications", click.argument("task_id", required=False))
def tasks_notifications(
    client: Torale, task_id: str | None, page: int, limit: int, as_json: bool
) -> None:
    """Executions whose condition was met: of one task, or of all yours."""
    show_page(client.notifications.list(task_id, page=page, limit=limit), as_json, NOTIFICATIONS)


# --- API keys ------------------------------------------------------------------------


@click.group()
def keys() -> None:
    """Your API keys."""


KEYS = Table(
    ("id", "name", "key", "state", "last used"),
    attrgetter("id", "name", "key_prefix", "state", "last_used_at"),
)


@list_command(keys, "list")
def keys_list(client: Torale, page: int, limit: int, as_json: bool) -> None:
    """Your keys (never the keys themselves)."""
    show_page(client.api_keys.list(page=page, limit=limit), as_json, KEYS)


@keys.command("create")
@click.argument("name")
@json_option
@api_command
def keys_create(client: Torale, name: str, as_json: bool) -> None:
    """Create a key; it is printed once."""
    created = client.api_keys.create(name)
    show(created, as_json, lambda: click.echo(created.key))


@keys.command("revoke")
@click.argument("key_id")
@json_option
@api_command
def keys_revoke(client: Torale, key_id: str, as_json: bool) -> None:
    """Revoke a key: it stops working at once."""
    result = client.api_keys.revoke(key_id)
    show(result, as_json, lambda: click.echo(result.message))


# --- webhooks ------------------------------------------------------------------------


@click.group()
def webhooks() -> None:
    """Your webhook signing secret, test events and deliveries."""


def _show_secret(secret: Any, as_json: bool) -> None:
    show(secret, as_json, lambda: click.echo(secret.secret))


@webhooks.command("secret")
@json_option
@api_command
def webhooks_secret(client: Torale, as_json: bool) -> None:
    """Your signing secret (whsec_...)."""
    _show_secret(client.webhooks.secret(), as_json)


@webhooks.command("rotate")
@json_option
@api_command
def webhooks_rotate(client: Torale, as_json: bool) -> None:
    """A new signing secret; the old one signs too during the grace period."""
    _show_secret(client.webhooks.rotate(), as_json)


@webhooks.command("test")
@click.argument("url")
@json_option
@api_command
def webhooks_test(client: Torale, url: str, as_json: bool) -> None:
    """Send a signed test event to URL."""
    result = client.webhooks.test(url)
    if as_json:
        print_json(result)
    elif result.success:
        click.echo(f"Delivered: {result.status_code} in {result.duration_ms} ms")
    if not result.success:
        fail(f"not delivered: {result.error or result.status_code}")


DELIVERIES = Table(
    ("id", "channel", "target", "status", "attempts", "last code"),
    attrgetter("id", "channel", "target", "status", "attempt_count", "last_status_code"),
)


@list_command(webhooks, "deliveries", click.argument("task_id"))
def webhooks_deliveries(client: Torale, task_id: str, page: int, limit: int, as_json: bool) -> None:
    """A task's notification deliveries."""
    show_page(client.webhooks.deliveries(task_id, page=page, limit=limit), as_json, DELIVERIES)


@webhooks.command("redeliver")
@click.argument("delivery_id")
@json_option
@api_command
def webhooks_redeliver(client: Torale, delivery_id: str, as_json: bool) -> None:
    """Send a delivery's event again (same webhook-id)."""
    delivery = client.webhooks.redeliver(delivery_id)
    show(delivery, as_json, lambda: click.echo(f"Redelivering {delivery.id} to {delivery.target}"))


# --- admin ---------------------------------------------------------------------------


@click.group()
def admin() -> None:
    """Platform views (admin keys only)."""


@admin.command("stats")
@json_option
@api_command
def admin_stats(client: Torale, as_json: bool) -> None:
    """Users, tasks, executions and notifications in figures."""
    stats = client.admin.stats()

    def human() -> None:
        for section in ("users", "tasks", "executions", "notifications", "deliveries"):
            value = getattr(stats, section)
            if value is not None:
                figures = ", ".join(f"{k} {v}" for k, v in value.model_dump().items())
                click.echo(f"{section}: {figures}")
        for query in stats.popular_queries:
            click.echo(f"popular: {query.count} x {query.query}")

    show(stats, as_json, human)


USERS = Table(
    ("id", "email", "role", "state", "tasks", "runs 24h", "last login"),
    attrgetter("id", "email", "role", "state", "tasks_count", "executions_24h", "last_login"),
)


@list_command(admin, "users", click.option("--active-only", is_flag=True), limit=50)
def admin_users(client: Torale, active_only: bool, page: int, limit: int, as_json: bool) -> None:
    """Users and their activity."""
    result = client.admin.users(active_only=active_only, page=page, limit=limit)
    show_page(result, as_json, USERS)


SCHEDULES = Table(
    ("schedule", "user", "cron", "timezone", "paused", "next run"),
    attrgetter("schedule_id", "user_email", "cron", "timezone", "is_paused", "next_run_time"),
)


@list_command(admin, "schedules", limit=50)
def admin_schedules(client: Torale, page: int, limit: int, as_json: bool) -> None:
    """Temporal schedules, as Temporal reports them."""
    show_page(client.admin.schedules(page=page, limit=limit), as_json, SCHEDULES)


COMMANDS = (login, whoami, tasks, keys, webhooks, admin)
