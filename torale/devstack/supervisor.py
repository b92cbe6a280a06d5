"""Runs the processes of `torale dev`, restarts the ones that crash, and makes sure
none of them outlives it.

Usage (the embedded servers stop last because they close after the supervisor):

    with StopSignals() as signals, resolve_services(...) as services, \\
            Supervisor(signals=signals) as sup:
        sup.start("api", [...], env=..., restart=True)
        sup.watch("Redis", is_alive=..., restart=...)
        code = sup.run()
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from torale.devstack.errors import DevStackError
from torale.devstack.signals import StopSignals

_PR_SET_PDEATHSIG = 1


def _child_hook() -> Callable[[], None]:
    """A pre-exec hook: the child hears SIGINT/SIGTERM as a program started from a
    terminal does, and gets SIGTERM if the supervisor itself is SIGKILLed.

    A `torale dev` started in the background inherits SIGINT ignored, and so would its
    children (exec keeps ignored signals): they would then sit out the stop's grace
    period. libc is loaded here, in the parent: loading libraries between fork and
    exec can deadlock. Linux ties the death signal to the starting *thread*, so start
    children from the main thread.
    """
    prctl = None
    if sys.platform.startswith("linux"):
        try:
            prctl = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):
            prctl = None

    def hook() -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


def _stderr(message: str) -> None:
    print(f"torale: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Backoff:
    """Delay before restart n (1-based): initial * factor**(n-1), at most `cap`.
    Something that stayed up `reset_after` seconds starts again from `initial`."""

    initial: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    reset_after: float = 60.0

    def delay(self, failures: int) -> float:
        return min(self.cap, self.initial * self.factor ** max(failures - 1, 0))


@dataclass
class _Restarts:
    """Restart bookkeeping shared by children and watched services."""

    count: int = 0
    failures: int = 0  # crashes since it last stayed up `reset_after` seconds
    up_since: float = field(default_factory=time.monotonic)
    due: float | None = None  # when in backoff: the monotonic time of the next start

    def crashed(self, backoff: Backoff) -> float:
        self.failures += 1
        delay = backoff.delay(self.failures)
        self.due = time.monotonic() + delay
        return delay

    def started(self) -> None:
        self.count += 1
        self.due = None
        self.up_since = time.monotonic()

    def settle(self, backoff: Backoff) -> None:
        if self.failures and time.monotonic() - self.up_since >= backoff.reset_after:
            self.failures = 0


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str] | None
    cwd: Path | str | None
    popen: subprocess.Popen[bytes]
    restart: bool = False
    restarts: _Restarts = field(default_factory=_Restarts)
    # Every process ever seen under this child, so re-parented grandchildren get killed too.
    seen: dict[int, psutil.Process] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid


@dataclass
class Watched:
    """Something the supervisor did not start as a child (e.g. an embedded server),
    checked every `check_every` seconds and restarted by `restart()` when dead."""

    name: str
    is_alive: Callable[[], bool]
    restart: Callable[[], None]
    restarts: _Restarts = field(default_factory=_Restarts)
    last_check: float = 0.0
    last_error: str | None = None


class Supervisor:
    """Starts children in their own process groups; `run()` waits until a signal or the
    exit of a child not marked `restart`, then stops every child and returns the code.

    Children marked `restart` are started again after a crash with exponential backoff
    (`Backoff`), one log line each; the counts go to `status_file` (JSON) when given.

    Signals are recorded by a `StopSignals` (lock-free handler + wakeup fd), from the
    moment the supervisor is entered, so a signal that lands while children are still
    starting is not lost: `run()` then returns at once and stops them.
    """

    def __init__(
        self,
        *,
        stop_timeout: float = 10.0,
        log: Callable[[str], None] = _stderr,
        signals: StopSignals | None = None,
        backoff: Backoff = Backoff(),
        status_file: Path | None = None,
        check_every: float = 1.0,
    ) -> None:
        self.stop_timeout = stop_timeout
        self.log = log
        self.backoff = backoff
        self.status_file = status_file
        self.check_every = check_every
        self.children: list[Child] = []
        self.watched: list[Watched] = []
        self._own_signals = signals is None
        self.signals = signals if signals is not None else StopSignals()
        self._stopped = False
        self._entered = False

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | str | None = None,
        restart: bool = False,
    ) -> subprocess.Popen[bytes]:
        if self._stopped:
            raise RuntimeError("the supervisor has already stopped")
        child_env = dict(env) if env is not None else None
        try:
            popen = self._spawn(list(argv), child_env, cwd)
        except OSError as exc:
            self.stop()
            raise DevStackError(f"cannot start {name} ({argv[0]}): {exc.strerror}") from None
        self.children.append(
            Child(name=name, argv=list(argv), env=child_env, cwd=cwd, popen=popen, restart=restart)
        )
        self._write_status()
        return popen

    def watch(
        self, name: str, *, is_alive: Callable[[], bool], restart: Callable[[], None]
    ) -> None:
        """Check `is_alive` while running; when it turns False, call `restart` (which
        raises DevStackError when it cannot) with the same backoff as children."""
        self.watched.append(Watched(name, is_alive, restart))
        self._write_status()

    def request_stop(self, signum: int = signal.SIGTERM) -> None:
        """Ask `run()` to stop, as if `signum` had arrived (safe from any thread)."""
        self.signals.request(signum)

    def run(self, poll_interval: float = 0.1) -> int:
        """Block until SIGINT/SIGTERM (exit code 0) or a child not marked `restart`
        exits (its code, at least 1); then stop everything."""
        installed_here = self._own_signals and not self._entered
        if installed_here:
            self.signals.install()
        try:
            code = self._supervise(poll_interval)
            # SIGTERM whatever stopped us: every child treats it as "stop", while a
            # forwarded SIGINT makes a Python child still importing print a
            # KeyboardInterrupt traceback instead.
            self.stop(signal.SIGTERM)
            return code
        finally:
            if installed_here:
                self.signals.close()

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Signal every child, wait, then SIGKILL whatever is left of its group."""
        if self._stopped:
            return
        self._stopped = True
        for child in self.children:
            self._remember_family(child)
            # The leader only: each child stops its own helpers (dramatiq's main process
            # forwards to its workers, and a worker hit twice hangs in its handler).
            if child.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(child.pid, signum)
        deadline = time.monotonic() + self.stop_timeout
        # A second Ctrl-C means "now": skip the grace period.
        signals_before = self.signals.count
        orphans_told: set[int] = set()
        while time.monotonic() < deadline and self.signals.count == signals_before:
            if not self._anything_alive():
                break
            for child in self.children:
                self._remember_family(child)
                if child.popen.poll() is not None and child.pid not in orphans_told:
                    # The leader is gone: what is left of its group was left behind, so
                    # it is told to terminate directly (SIGTERM: a shell's background
                    # jobs ignore SIGINT).
                    orphans_told.add(child.pid)
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(child.pid, signal.SIGTERM)
            self.signals.wait(0.05)
        self._kill_everything()
        self._remove_status()

    def __enter__(self) -> Supervisor:
        self._entered = True
        if self._own_signals:
            self.signals.install()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            if self._own_signals:
                self.signals.close()

    # -- the loop --------------------------------------------------------------------

    def _supervise(self, poll_interval: float) -> int:
        while not self.signals.count:
            for child in self.children:
                code = self._check_child(child)
                if code is not None:
                    return code
            for watched in self.watched:
                self._check_watched(watched)
            self.signals.wait(self._next_wait(poll_interval))
        return 0

    def _check_child(self, child: Child) -> int | None:
        """The exit code to stop with, or None to carry on."""
        now = time.monotonic()
        if child.restarts.due is not None:
            if now >= child.restarts.due:
                self._respawn(child)
            return None
        code = child.popen.poll()
        if code is None:
            child.restarts.settle(self.backoff)
            self._remember_family(child)
            return None
        if not child.restart:
            self.log(f"{child.name} exited unexpectedly with code {_describe(code)}; stopping")
            return code if code > 0 else 1
        # Whatever it left behind in its group goes before the next one starts.
        self._kill_family(child)
        delay = child.restarts.crashed(self.backoff)
        self.log(
            f"{child.name} exited with code {_describe(code)}; restarting in {delay:.1f}s "
            f"(restart {child.restarts.count + 1})"
        )
        self._write_status()
        return None

    def _respawn(self, child: Child) -> None:
        try:
            child.popen = self._spawn(child.argv, child.env, child.cwd)
        except OSError as exc:
            delay = child.restarts.crashed(self.backoff)
            self.log(f"cannot restart {child.name}: {exc.strerror}; retrying in {delay:.1f}s")
            return
        child.seen.clear()
        child.restarts.started()
        self._write_status()

    def _check_watched(self, watched: Watched) -> None:
        now = time.monotonic()
        if watched.restarts.due is not None:
            if now >= watched.restarts.due:
                self._restart_watched(watched)
            return
        if now - watched.last_check < self.check_every:
            return
        watched.last_check = now
        if watched.is_alive():
            watched.restarts.settle(self.backoff)
            return
        delay = watched.restarts.crashed(self.backoff)
        self.log(
            f"{watched.name} died; restarting in {delay:.1f}s "
            f"(restart {watched.restarts.count + 1})"
        )
        self._write_status()

    def _restart_watched(self, watched: Watched) -> None:
        try:
            watched.restart()
        except DevStackError as exc:
            if self.signals.count:
                return  # interrupted by a stop: nothing to report
            watched.last_error = str(exc).splitlines()[0]
            delay = watched.restarts.crashed(self.backoff)
            self.log(
                f"{watched.name} is down and could not be restarted ({watched.last_error}); "
                f"retrying in {delay:.1f}s"
            )
        else:
            watched.last_error = None
            watched.restarts.started()
            watched.last_check = time.monotonic()
            self.log(f"{watched.name} restarted (restart {watched.restarts.count})")
        self._write_status()

    def _next_wait(self, poll_interval: float) -> float:
        supervised: list[Child | Watched] = [*self.children, *self.watched]
        dues = [item.restarts.due for item in supervised if item.restarts.due is not None]
        if not dues:
            return poll_interval
        return max(0.0, min(poll_interval, min(dues) - time.monotonic()))

    # -- processes -------------------------------------------------------------------

    def _spawn(
        self, argv: list[str], env: dict[str, str] | None, cwd: Path | str | None
    ) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            # Own group: signals are forwarded by us, once, and the group is what we kill.
            start_new_session=True,
            preexec_fn=_child_hook(),
        )

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

    def _kill_family(self, child: Child) -> list[psutil.Process]:
        """SIGKILL the child's group and every process seen under it."""
        leftovers: list[psutil.Process] = []
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)
        for proc in child.seen.values():
            if _alive(proc):
                with contextlib.suppress(psutil.Error):
                    proc.kill()
                leftovers.append(proc)
        return leftovers

    def _kill_everything(self) -> None:
        leftovers: list[psutil.Process] = []
        for child in self.children:
            leftovers.extend(self._kill_family(child))
        for child in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.popen.wait(timeout=5)
        psutil.wait_procs(leftovers, timeout=5)

    # -- status file -----------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What `status_file` holds: per child and watched service, restarts and state."""
        processes = {
            child.name: {
                "pid": child.pid,
                "restarts": child.restarts.count,
                "state": "restarting" if child.restarts.due is not None else "running",
            }
            for child in self.children
        }
        services = {
            item.name: {
                "restarts": item.restarts.count,
                "state": "restarting" if item.restarts.due is not None else "running",
                **({"error": item.last_error} if item.last_error else {}),
            }
            for item in self.watched
        }
        return {"supervisor_pid": os.getpid(), "processes": processes, "services": services}

    def _write_status(self) -> None:
        if self.status_file is None:
            return
        tmp = self.status_file.with_name(self.status_file.name + ".tmp")
        with contextlib.suppress(OSError):
            tmp.write_text(json.dumps(self.status(), indent=2, sort_keys=True) + "\n")
            tmp.replace(self.status_file)

    def _remove_status(self) -> None:
        if self.status_file is not None:
            with contextlib.suppress(OSError):
                self.status_file.unlink()


def _describe(code: int) -> str:
    """`-9` reads better as `-9 (SIGKILL)`."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"{code} ({signal.Signals(-code).name})"
    return str(code)


def _alive(proc: psutil.Process) -> bool:
    try:
        # is_running() also guards against the pid having been reused.
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
