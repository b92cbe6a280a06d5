"""`torale login` and `torale whoami`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from torale.client_cli.commands.common import api_command, fail, json_option, show
from torale.client_cli.output import print_fields

if TYPE_CHECKING:
    from torale.client import Torale


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
