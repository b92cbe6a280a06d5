"""SIGINT/SIGTERM recorded without locks, and a wait that wakes as soon as one arrives.

Python runs a signal handler on the main thread between two bytecodes, possibly while
the interrupted code holds a lock (e.g. inside `threading.Event.wait`). A handler that
takes any lock can therefore deadlock the process. The handler here only appends the
signal number to a list; the wake-up comes from `signal.set_wakeup_fd`, whose byte is
written by the C-level handler into a non-blocking pipe that `wait()` selects on.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import threading
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Used as a context manager on the main thread: records SIGINT/SIGTERM until exit.

    Off the main thread (where handlers cannot be set) it still works as a wake-up
    channel for `request()`.
    """

    def __init__(self) -> None:
        self._received: list[int] = []
        self._pipe: tuple[int, int] | None = None  # made on first use, closed by close()
        self._selector: selectors.BaseSelector | None = None
        self._previous: dict[int, Any] = {}
        self._previous_wakeup_fd: int | None = None

    def _fds(self) -> tuple[int, int]:
        if self._pipe is None:
            read_fd, write_fd = os.pipe()
            for fd in (read_fd, write_fd):
                os.set_blocking(fd, False)
            self._selector = selectors.DefaultSelector()
            self._selector.register(read_fd, selectors.EVENT_READ)
            self._pipe = (read_fd, write_fd)
        return self._pipe

    @property
    def first(self) -> int | None:
        """The first signal received, if any."""
        return self._received[0] if self._received else None

    @property
    def count(self) -> int:
        return len(self._received)

    def request(self, signum: int = signal.SIGTERM) -> None:
        """Record a stop from code (any thread): same effect as receiving `signum`."""
        self._received.append(signum)
        pipe = self._pipe
        # No pipe yet: no wait() has started, and the next one sees the record first.
        if pipe is not None:
            with contextlib.suppress(BlockingIOError, OSError):
                os.write(pipe[1], b"\0")

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds; return at once when a signal arrives or has
        arrived. True when any stop was recorded."""
        read_fd, _write_fd = self._fds()
        if not self._received and timeout > 0:
            assert self._selector is not None
            self._selector.select(timeout)
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while os.read(read_fd, 512):
                pass
        return bool(self._received)

    def install(self) -> bool:
        """Take over SIGINT/SIGTERM; False (and nothing changed) off the main thread."""
        if self._previous or threading.current_thread() is not threading.main_thread():
            return False
        self._previous_wakeup_fd = signal.set_wakeup_fd(self._fds()[1], warn_on_full_buffer=False)
        self._previous = {sig: signal.signal(sig, self._record) for sig in STOP_SIGNALS}
        return True

    def uninstall(self) -> None:
        if not self._previous:
            return
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
        signal.set_wakeup_fd(
            self._previous_wakeup_fd if self._previous_wakeup_fd is not None else -1
        )
        self._previous_wakeup_fd = None

    def close(self) -> None:
        self.uninstall()
        pipe, self._pipe = self._pipe, None
        if pipe is None:
            return
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        for fd in pipe:
            os.close(fd)

    def __enter__(self) -> StopSignals:
        self.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _record(self, signum: int, _frame: FrameType | None) -> None:
        # No locks, no I/O: list.append is atomic under the GIL. The wake-up byte was
        # already written by the C-level handler to the wakeup fd.
        self._received.append(signum)
