"""The web dashboard: plain ES modules served by the API at `/app` (no build step)."""

from torale.dashboard.mount import mount_dashboard

__all__ = ["mount_dashboard"]
