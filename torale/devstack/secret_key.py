"""A generated TORALE_SECRET_KEY kept in the data directory, for development.

Production must set TORALE_SECRET_KEY itself (settings refuse to start otherwise);
on a developer's machine the `torale` commands share one generated key so that
webhook secrets sealed by one process open in the others and across restarts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

SECRET_KEY_FILE = "secret-key"


def data_dir_secret_key(data_dir: Path) -> str | None:
    """The data dir's key, created (mode 0600) on first use; None if it cannot be."""
    path = Path(data_dir) / SECRET_KEY_FILE
    try:
        if not path.exists():
            _create_exclusively(path, secrets.token_urlsafe(48))
        return path.read_text().strip()
    except OSError as exc:
        log.warning("no secret key in %s (%s): webhook secrets are stored in clear", data_dir, exc)
        return None


def _create_exclusively(path: Path, key: str) -> None:
    # Written aside, then linked into place: a second process starting at the same
    # moment either wins the link or reads the complete winner, never half a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, staged = tempfile.mkstemp(dir=path.parent, prefix=".secret-key-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        os.chmod(staged, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(staged, path)
    finally:
        os.unlink(staged)
