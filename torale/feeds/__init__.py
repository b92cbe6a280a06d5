"""Atom feeds of public tasks: their condition-met executions, for any feed reader."""
