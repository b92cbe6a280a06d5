"""`torale keys ...`: API keys."""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING

import click

from torale.client_cli.commands.common import json_command, list_command, show, show_page
from torale.client_cli.output import Table

if TYPE_CHECKING:
    from torale.client import Torale


@click.group("keys")
def group() -> None:
    """Your API keys."""


KEYS = Table(
    ("id", "name", "key", "state", "last used"),
    attrgetter("id", "name", "key_prefix", "state", "last_used_at"),
)


@list_command(group, "list")
def keys_list(client: Torale, page: int, limit: int, as_json: bool) -> None:
    """Your keys (never the keys themselves)."""
    show_page(client.api_keys.list(page=page, limit=limit), as_json, KEYS)


@json_command(group, "create", click.argument("name"))
def keys_create(client: Torale, name: str, as_json: bool) -> None:
    """Create a key; it is printed once."""
    created = client.api_keys.create(name)
    show(created, as_json, lambda: click.echo(created.key))


@json_command(group, "revoke", click.argument("key_id"))
def keys_revoke(client: Torale, key_id: str, as_json: bool) -> None:
    """Revoke a key: it stops working at once."""
    result = client.api_keys.revoke(key_id)
    show(result, as_json, lambda: click.echo(result.message))
