"""Runs the processes of `torale dev` and makes sure none of them outlives it.

Usage (the embedded servers stop last because they close after the supervisor):

    with resolve_services(data_dir, os.environ) as services, Supervisor() as sup:
        sup.start("api", [...], env=...)
        sup.start("temporal-worker", [...], env=...)
        code = sup.run()
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import psutil

from torale.devstack.errors import DevStackError

_PR_SET_PDEATHSIG = 1


def _pdeathsig_hook() -> Callable[[], None] | None:
    """A pre-exec hook so a child gets SIGTERM if the supervisor itself is SIGKILLed.

    libc is loaded here, in the parent: loading libraries between fork and exec can
    deadlock. Linux ties this to the starting *thread*, so start children from the
    main thread.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


def _stderr(message: str) -> None:
    print(f"torale: {message}", file=sys.stderr, flush=True)


@dataclass
class Child:
    name: str
    argv: list[str]
    popen: subprocess.Popen[bytes]
    # Every process ever seen under this child, so re-parented grandchildren get killed too.
    seen: dict[int, psutil.Process] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid


class Supervisor:
    """Starts children in their own process groups; `run()` waits until a signal or
    the first child exit, then stops every child and returns the exit code.

    Used as a context manager it takes SIGINT/SIGTERM from the moment it is entered,
    so a signal that lands while children are still starting is not lost: `run()`
    then returns at once and stops them.
    """

    def __init__(
        self,
        *,
        stop_timeout: float = 10.0,
        log: Callable[[str], None] = _stderr,
    ) -> None:
        self.stop_timeout = stop_timeout
        self.log = log
        self.children: list[Child] = []
        self._signal: int | None = None
        self._signals_seen = 0
        self._wake = threading.Event()
        self._stopped = False
        self._previous_handlers: dict[int, Any] = {}

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | str | None = None,
    ) -> subprocess.Popen[bytes]:
        if self._stopped:
            raise RuntimeError("the supervisor has already stopped")
        kwargs: dict[str, Any] = {}
        hook = _pdeathsig_hook()
        if hook is not None:
            kwargs["preexec_fn"] = hook
        try:
            popen = subprocess.Popen(
                list(argv),
                env=dict(env) if env is not None else None,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                # Own group: signals are forwarded by us, once, and the group is what we kill.
                start_new_session=True,
                **kwargs,
            )
        except OSError as exc:
            self.stop()
            raise DevStackError(f"cannot start {name} ({argv[0]}): {exc.strerror}") from None
        self.children.append(Child(name=name, argv=list(argv), popen=popen))
        return popen

    def request_stop(self, signum: int = signal.SIGTERM) -> None:
        """Ask `run()` to stop the children with `signum` (safe from any thread)."""
        self._signals_seen += 1
        if self._signal is None:
            self._signal = signum
        self._wake.set()

    def run(self, poll_interval: float = 0.1) -> int:
        """Block until SIGINT/SIGTERM (exit code 0) or a child exits (its code, at least 1)."""
        installed_here = not self._previous_handlers
        if installed_here:
            self._install_handlers()
        try:
            code = self._wait(poll_interval)
            self.stop(self._signal or signal.SIGTERM)
            return code
        finally:
            if installed_here:
                self._restore_handlers()

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Signal every child's process group, wait, then SIGKILL whatever is left."""
        if self._stopped:
            return
        self._stopped = True
        for child in self.children:
            self._remember_family(child)
            # Even when the leader is gone, the rest of its group may not be.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signum)
        deadline = time.monotonic() + self.stop_timeout
        # A second Ctrl-C means "now": skip the grace period.
        signals_before = self._signals_seen
        while time.monotonic() < deadline and self._signals_seen == signals_before:
            if not self._anything_alive():
                break
            for child in self.children:
                self._remember_family(child)
            time.sleep(0.05)
        self._kill_everything()

    def __enter__(self) -> Supervisor:
        self._install_handlers()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            self._restore_handlers()

    def _install_handlers(self) -> None:
        # Signal handlers can only be set from the main thread.
        if threading.current_thread() is not threading.main_thread():
            return

        def handler(signum: int, _frame: FrameType | None) -> None:
            self.request_stop(signum)

        self._previous_handlers = {
            sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)
        }

    def _restore_handlers(self) -> None:
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        self._previous_handlers = {}

    def _wait(self, poll_interval: float) -> int:
        while self._signal is None:
            for child in self.children:
                code = child.popen.poll()
                if code is not None:
                    self.log(f"{child.name} exited unexpectedly with code {code}; stopping")
                    return code if code > 0 else 1
                self._remember_family(child)
            self._wake.wait(poll_interval)
        return 0

    def _remember_family(self, child: Child) -> None:
        with contextlib.suppress(psutil.Error):
            for proc in psutil.Process(child.pid).children(recursive=True):
                child.seen.setdefault(proc.pid, proc)

    def _anything_alive(self) -> bool:
        for child in self.children:
            if child.popen.poll() is None:
                return True
            if any(_alive(proc) for proc in child.seen.values()):
                return True
        return False

    def _kill_everything(self) -> None:
        leftovers: list[psutil.Process] = []
        for child in self.children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
            for proc in child.seen.values():
                if _alive(proc):
                    with contextlib.suppress(psutil.Error):
                        proc.kill()
                    leftovers.append(proc)
        for child in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.popen.wait(timeout=5)
        psutil.wait_procs(leftovers, timeout=5)


def _alive(proc: psutil.Process) -> bool:
    try:
        # is_running() also guards against the pid having been reused.
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
