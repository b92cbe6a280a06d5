"""The one error the CLI turns into a one-line message instead of a traceback."""

from __future__ import annotations


class DevStackError(Exception):
    """An embedded server or the dev stack cannot run; the message names the cause."""
