from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A private temp dir outside pytest's basetemp.

    As root, PostgreSQL runs as another user and needs to traverse the parents of its
    data dir; concurrent pytest runs reset /tmp/pytest-of-root to 0700 at any moment.
    """
    path = Path(tempfile.mkdtemp(prefix="torale-devstack-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
