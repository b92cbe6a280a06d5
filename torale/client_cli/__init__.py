"""The `torale` subcommands that talk to a running API through the Python client.

Only click is imported here: the client (httpx, pydantic models) loads when one of these
commands runs, so `torale dev` and the other server commands start as fast as before.
"""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    from torale.client_cli.commands import COMMANDS

    for command in COMMANDS:
        group.add_command(command)
