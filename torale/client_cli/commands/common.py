"""What every client command uses: a client and its errors, `--json`, paged lists."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from torale.client_cli.output import Table, page_footer, print_json

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


def json_command(
    group: click.Group, name: str, *parameters: Callable[..., Any], **settings: Any
) -> Callable[[Callable[..., Any]], Any]:
    """A command of `group`, run with a client: its own `parameters`, then --json.
    `settings` go to `click.Group.command` (e.g. `help=`)."""
    options = (api_command, json_option, *reversed(parameters))

    def decorate(command: Callable[..., Any]) -> Any:
        for option in options:
            command = option(command)
        return group.command(name, **settings)(command)

    return decorate


def list_command(
    group: click.Group, name: str, *parameters: Callable[..., Any], limit: int = 20
) -> Callable[[Callable[..., Any]], Any]:
    """A paged list command of `group`, run with a client: its own `parameters`, then
    --page, --limit and --json."""
    limit_option = click.option(
        "--limit", default=limit, show_default=True, type=click.IntRange(1, 100)
    )
    return json_command(group, name, *parameters, page_option, limit_option)


def show_page(result: Any, as_json: bool, table: Table) -> None:
    """One page of a list command: as JSON, or the table and the page footer."""

    def human() -> None:
        table.print(result.items)
        page_footer(result)

    show(result, as_json, human)
