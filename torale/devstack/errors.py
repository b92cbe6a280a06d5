"""The one error the CLI turns into a one-line message instead of a traceback."""

from __future__ import annotations


class DevStackError(Exception):
    """An embedded server or the dev stack cannot run; the message names the cause."""


class Interrupted(DevStackError):
    """A stop (SIGINT/SIGTERM) arrived while a server was starting; not a failure."""
