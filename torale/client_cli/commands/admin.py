"""`torale admin ...`: platform views, for admin keys."""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING

import click

from torale.client_cli.commands.common import json_command, list_command, show, show_page
from torale.client_cli.output import Table

if TYPE_CHECKING:
    from torale.client import Torale


@click.group("admin")
def group() -> None:
    """Platform views (admin keys only)."""


@json_command(group, "stats")
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


@list_command(group, "users", click.option("--active-only", is_flag=True), limit=50)
def admin_users(client: Torale, active_only: bool, page: int, limit: int, as_json: bool) -> None:
    """Users and their activity."""
    result = client.admin.users(active_only=active_only, page=page, limit=limit)
    show_page(result, as_json, USERS)


SCHEDULES = Table(
    ("schedule", "user", "cron", "timezone", "paused", "next run"),
    attrgetter("schedule_id", "user_email", "cron", "timezone", "is_paused", "next_run_time"),
)


@list_command(group, "schedules", limit=50)
def admin_schedules(client: Torale, page: int, limit: int, as_json: bool) -> None:
    """Temporal schedules, as Temporal reports them."""
    show_page(client.admin.schedules(page=page, limit=limit), as_json, SCHEDULES)
