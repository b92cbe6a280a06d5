"""Process, port and directory helpers shared by the embedded servers and the supervisor."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from torale.devstack.errors import DevStackError

if TYPE_CHECKING:
    import psutil

# psutil is imported by the functions that look at processes, not here: `torale api`
# uses this module for its port check only, and psutil would stay in its memory.

LOCALHOST = "127.0.0.1"


def free_port(host: str = LOCALHOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_free(port: int, host: str = LOCALHOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR matches how the servers bind, so a port in TIME_WAIT counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def claim_port(port: int | None, host: str = LOCALHOST) -> int:
    """The requested port (refused when taken) or a free one."""
    if port is None:
        return free_port(host)
    if not port_is_free(port, host):
        raise DevStackError(f"port {port} on {host} is already in use")
    return port


def port_answers(port: int, host: str = LOCALHOST, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_writable_dir(path: Path) -> Path:
    """Create `path` and prove we can write into it (root ignores modes, so probe)."""
    path = Path(path).expanduser().absolute()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))
        raise DevStackError(f"data directory {path} is not writable: {reason}") from None
    return path


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def pid_is_running(pid: int, create_time: float | None = None) -> bool:
    """Alive and, when `create_time` is known, the same process (pids get reused)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return create_time is None or abs(proc.create_time() - create_time) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def process_create_time(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _family(pid: int) -> list[psutil.Process]:
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def terminate_tree(
    pid: int,
    *,
    sig: int = signal.SIGTERM,
    timeout: float = 10.0,
    popen: subprocess.Popen | None = None,
    whole_group: bool = True,
) -> None:
    """Signal a process (and its process group), wait, then SIGKILL whatever is left.

    Descendants are collected before signalling: once the parent exits they are
    re-parented and can no longer be found through it. `whole_group=False` is for
    servers such as PostgreSQL whose helpers must only hear from their own parent.
    """
    import psutil

    family = _family(pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if whole_group:
            # Processes we start run in their own session, so their pgid is their pid.
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    if popen is not None:
        # Reap our own child through Popen so its returncode stays meaningful.
        try:
            popen.wait(timeout=max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=5)
        family = [proc for proc in family if proc.pid != pid]
    _gone, alive = psutil.wait_procs(family, timeout=max(deadline - time.monotonic(), 0))
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)


def ensure_port_free(port: int, host: str = LOCALHOST) -> None:
    """Fail with a one-line DevStackError when something already listens on `port`."""
    claim_port(port, host)
