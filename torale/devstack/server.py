"""What every embedded server shares: a data dir, a port, a log, readiness and stopping."""

from __future__ import annotations

import signal
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from torale.devstack.errors import DevStackError, Interrupted
from torale.devstack.process import (
    LOCALHOST,
    claim_port,
    ensure_writable_dir,
    log_tail,
    pid_is_running,
    port_answers,
    terminate_tree,
)


class EmbeddedServer(ABC):
    """A real server binary run as our child, bound to 127.0.0.1, data kept in `data_dir`."""

    label: ClassVar[str]
    log_name: ClassVar[str]
    ready_timeout: ClassVar[float] = 60.0
    stop_timeout: ClassVar[float] = 15.0
    stop_signal: ClassVar[int] = signal.SIGTERM
    # PostgreSQL's helper processes must be signalled by the postmaster only.
    stop_whole_group: ClassVar[bool] = True

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = Path(data_dir).expanduser().absolute()
        self.requested_port = port
        self.host = LOCALHOST
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"{self.log_name}.log"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    @abstractmethod
    def url(self) -> str:
        """How clients reach the server (valid once started)."""

    def start(self, abort: Callable[[], bool] | None = None) -> str:
        """Start and wait until ready; `abort()` turning True (a stop signal) gives up
        with `Interrupted` and stops the half-started server."""
        if self.running:
            return self.url
        ensure_writable_dir(self.data_dir)
        if self.requested_port is not None:
            # Fail before a slow first-time setup, not after it.
            claim_port(self.requested_port, self.host)
        self._prepare()
        self.port = claim_port(self.requested_port, self.host)
        argv = self._argv()
        with self.log_path.open("ab") as log:
            log.write(f"\n--- torale: starting {self.label} on port {self.port}\n".encode())
            log.flush()
            try:
                self._proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.data_dir,
                    # Own session: a Ctrl-C in the terminal must not reach the servers
                    # before the processes that use them have stopped.
                    start_new_session=True,
                    **self._popen_kwargs(),
                )
            except OSError as exc:
                raise DevStackError(f"cannot run {argv[0]}: {exc.strerror}") from None
        try:
            self._wait_ready(abort or (lambda: False))
            self._after_ready()
        except BaseException:
            self.stop()
            raise
        return self.url

    def restart_in_place(self, abort: Callable[[], bool] | None = None) -> str:
        """Start again on the same port(s) after the server died, so every client's
        configured URL stays valid."""
        self._forget_dead()
        self._keep_ports()
        return self.start(abort)

    def _keep_ports(self) -> None:
        if self.port is not None:
            self.requested_port = self.port

    def _forget_dead(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            self._proc = None

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        terminate_tree(
            proc.pid,
            sig=self.stop_signal,
            timeout=self.stop_timeout,
            popen=proc,
            whole_group=self.stop_whole_group,
        )

    @classmethod
    def stop_pid(cls, pid: int, create_time: float | None) -> None:
        """Stop a server of this kind started by another (now gone) process."""
        if pid_is_running(pid, create_time):
            terminate_tree(
                pid,
                sig=cls.stop_signal,
                timeout=cls.stop_timeout,
                whole_group=cls.stop_whole_group,
            )

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_ready(self, abort: Callable[[], bool]) -> None:
        assert self._proc is not None and self.port is not None
        deadline = time.monotonic() + self.ready_timeout
        while True:
            if abort():
                raise Interrupted(f"{self.label} start interrupted by a stop signal")
            code = self._proc.poll()
            if code is not None:
                raise DevStackError(
                    f"{self.label} exited with code {code} while starting; "
                    f"last lines of {self.log_path}:\n{log_tail(self.log_path)}"
                )
            if port_answers(self.port, self.host) and self._is_ready():
                return
            if time.monotonic() > deadline:
                raise DevStackError(
                    f"{self.label} did not become ready on port {self.port} within "
                    f"{self.ready_timeout:.0f}s; last lines of {self.log_path}:\n"
                    f"{log_tail(self.log_path)}"
                )
            time.sleep(0.1)

    def _prepare(self) -> None:  # noqa: B027 - optional hook
        """One-time setup of the data dir before the server runs."""

    def _popen_kwargs(self) -> dict[str, Any]:
        return {}

    def _after_ready(self) -> None:  # noqa: B027 - optional hook
        """Work that needs the running server (e.g. creating a database)."""

    @abstractmethod
    def _argv(self) -> list[str]: ...

    @abstractmethod
    def _is_ready(self) -> bool:
        """A real protocol round-trip, tried once the port accepts connections."""
