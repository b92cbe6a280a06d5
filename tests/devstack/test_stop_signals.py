"""StopSignals records SIGINT/SIGTERM without locks and wakes its waiter at once."""

from __future__ import annotations

import os
import signal
import threading
import time

from torale.devstack.signals import StopSignals


def test_a_real_signal_wakes_a_long_wait_at_once_and_is_recorded():
    with StopSignals() as signals:
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
        started = time.monotonic()
        assert signals.wait(30) is True
        assert time.monotonic() - started < 5
        assert signals.first == signal.SIGTERM and signals.count == 1
        # A second one (Ctrl-C again) is counted too.
        os.kill(os.getpid(), signal.SIGINT)
        signals.wait(1)
        assert signals.count == 2


def test_close_gives_back_the_previous_handlers_and_wakeup_fd():
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with StopSignals():
        assert signal.getsignal(signal.SIGTERM) is not before[signal.SIGTERM]
    assert {sig: signal.getsignal(sig) for sig in before} == before
    assert signal.set_wakeup_fd(-1) == -1  # none left installed


def test_a_request_from_another_thread_wakes_the_wait():
    signals = StopSignals()
    try:
        threading.Timer(0.2, signals.request).start()
        started = time.monotonic()
        assert signals.wait(30) is True
        assert time.monotonic() - started < 5
        assert signals.first == signal.SIGTERM
    finally:
        signals.close()


def test_without_a_stop_wait_sleeps_its_timeout():
    signals = StopSignals()
    try:
        started = time.monotonic()
        assert signals.wait(0.3) is False
        assert time.monotonic() - started >= 0.25
    finally:
        signals.close()
