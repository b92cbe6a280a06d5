"""`torale webhooks ...`: the signing secret, test events and deliveries."""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING, Any

import click

from torale.client_cli.commands.common import fail, json_command, list_command, show, show_page
from torale.client_cli.output import Table, print_json

if TYPE_CHECKING:
    from torale.client import Torale


@click.group("webhooks")
def group() -> None:
    """Your webhook signing secret, test events and deliveries."""


def _show_secret(secret: Any, as_json: bool) -> None:
    show(secret, as_json, lambda: click.echo(secret.secret))


@json_command(group, "secret")
def webhooks_secret(client: Torale, as_json: bool) -> None:
    """Your signing secret (whsec_...)."""
    _show_secret(client.webhooks.secret(), as_json)


@json_command(group, "rotate")
def webhooks_rotate(client: Torale, as_json: bool) -> None:
    """A new signing secret; the old one signs too during the grace period."""
    _show_secret(client.webhooks.rotate(), as_json)


@json_command(group, "test", click.argument("url"))
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


@list_command(group, "deliveries", click.argument("task_id"))
def webhooks_deliveries(client: Torale, task_id: str, page: int, limit: int, as_json: bool) -> None:
    """A task's notification deliveries."""
    show_page(client.webhooks.deliveries(task_id, page=page, limit=limit), as_json, DELIVERIES)


@json_command(group, "redeliver", click.argument("delivery_id"))
def webhooks_redeliver(client: Torale, delivery_id: str, as_json: bool) -> None:
    """Send a delivery's event again (same webhook-id)."""
    delivery = client.webhooks.redeliver(delivery_id)
    show(delivery, as_json, lambda: click.echo(f"Redelivering {delivery.id} to {delivery.target}"))
