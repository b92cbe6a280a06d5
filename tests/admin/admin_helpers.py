"""Helpers shared by the admin tests (fixtures live in conftest.py)."""

from __future__ import annotations

ADMIN_REQUIRED = {"detail": "Admin access required"}
