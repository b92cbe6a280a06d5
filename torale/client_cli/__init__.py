"""The `torale` subcommands that talk to a running API through the Python client.

Only click is imported here. The commands themselves (and the client: httpx, pydantic
models) load when one of them is run or listed, so `torale api`, `torale dev` and the
other server commands neither start slower nor hold them in memory.
"""

from __future__ import annotations

import click

# The names `torale.client_cli.commands.COMMANDS` defines (a test keeps them equal).
CLIENT_COMMANDS = ("admin", "keys", "login", "tasks", "webhooks", "whoami")


def register(group: click.Group) -> None:
    from torale.client_cli.commands import COMMANDS

    for command in COMMANDS:
        group.add_command(command)


class WithClientCommands(click.Group):
    """A command group whose client commands are added when first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *CLIENT_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in CLIENT_COMMANDS and cmd_name not in self.commands:
            register(self)
        return super().get_command(ctx, cmd_name)
