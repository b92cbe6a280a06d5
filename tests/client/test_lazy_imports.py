"""`import torale` and the server's modules stay cheap: the client loads on first use."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import torale, torale.cli, torale.webhooks, torale.webhooks.signing
assert "torale.client" not in sys.modules, "client loaded by a server import"
from torale import Torale, AsyncTorale
from torale.webhooks import verify, ConditionMetEvent
import torale.client.webhooks as receiver
assert verify is receiver.verify and ConditionMetEvent is receiver.ConditionMetEvent
assert Torale.__module__ == "torale.client._clients"
try:
    torale.Nope
except AttributeError:
    print("ok")
"""


def test_client_loads_only_when_used():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stderr


def test_the_client_commands_are_listed_without_loading_them():
    from torale.client_cli import CLIENT_COMMANDS
    from torale.client_cli.commands import COMMANDS

    # The lazy group announces exactly the commands the module defines.
    assert sorted(command.name for command in COMMANDS) == sorted(CLIENT_COMMANDS)
