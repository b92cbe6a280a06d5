"""Embedded, real servers for a machine with nothing installed (`torale dev`, tests)."""
