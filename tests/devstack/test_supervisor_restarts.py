"""The supervisor restarts what crashes, with backoff, and still stops at once."""

from __future__ import annotations

import itertools
import json
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable

import psutil
import redis

from tests.helpers import stops_on_sigterm
from torale.devstack.services import resolve_services
from torale.devstack.supervisor import Backoff, Supervisor


class TimedLog:
    def __init__(self) -> None:
        self.lines: list[tuple[float, str]] = []

    def __call__(self, line: str) -> None:
        self.lines.append((time.monotonic(), line))

    def texts(self) -> list[str]:
        return [text for _at, text in self.lines]


def _stop_when(
    sup: Supervisor,
    done: Callable[[], bool],
    *,
    within: float = 20.0,
    before: Callable[[], None] = lambda: None,
) -> threading.Thread:
    """Stop `sup` once `done()` holds (checked every 50 ms), or after `within` seconds.

    Waiting for what the test needs to see, not for a fixed time, keeps it right on a
    loaded machine, where each restart's process takes longer to start."""

    def watch() -> None:
        deadline = time.monotonic() + within
        while not done() and time.monotonic() < deadline:
            time.sleep(0.05)
        before()
        sup.request_stop()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


RESTART_LINE = re.compile(
    r"^crasher exited with code 3; restarting in ([\d.]+)s \(restart (\d+)\)$"
)


def test_a_crashing_child_is_restarted_with_exponential_capped_backoff(workdir):
    log = TimedLog()
    status_file = workdir / "status.json"
    sup = Supervisor(
        stop_timeout=1.0,
        log=log,
        backoff=Backoff(initial=0.2, factor=2.0, cap=0.8, reset_after=30.0),
        status_file=status_file,
    )
    sup.start("crasher", ["sh", "-c", "exit 3"], restart=True)
    statuses: list[dict] = []
    _stop_when(
        sup,
        lambda: len(log.lines) >= 5,
        before=lambda: statuses.append(json.loads(status_file.read_text())),
    )
    assert sup.run() == 0  # a restarted child's crash does not stop the stack

    matches = [RESTART_LINE.match(text) for text in log.texts()]
    assert all(matches), log.texts()  # one line per restart, nothing else
    delays = [float(m.group(1)) for m in matches]
    assert delays[:5] == [0.2, 0.4, 0.8, 0.8, 0.8]
    assert [int(m.group(2)) for m in matches] == list(range(1, len(matches) + 1))
    # Each line comes no sooner than the previous delay after the one before it.
    times = [at for at, _text in log.lines]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    for gap, delay in zip(gaps, delays[: len(gaps)], strict=True):
        assert gap >= delay - 0.02
    done = sup.status()["processes"]["crasher"]["restarts"]
    assert done in (len(matches), len(matches) - 1)  # the last may still be in backoff
    assert statuses[0]["processes"]["crasher"]["restarts"] >= 4
    assert not status_file.exists()  # removed on stop


def test_backoff_starts_over_once_a_child_stayed_up_a_while():
    log = TimedLog()
    sup = Supervisor(
        stop_timeout=1.0,
        log=log,
        backoff=Backoff(initial=0.2, factor=4.0, cap=10.0, reset_after=0.3),
    )
    sup.start("crasher", ["sh", "-c", "sleep 0.5; exit 3"], restart=True)
    _stop_when(sup, lambda: len(log.lines) >= 3)
    assert sup.run() == 0
    delays = [float(RESTART_LINE.match(text).group(1)) for text in log.texts()]
    assert len(delays) >= 3 and set(delays) == {0.2}, delays


def test_a_child_not_marked_restart_still_stops_the_stack():
    log = TimedLog()
    sup = Supervisor(stop_timeout=1.0, log=log)
    sleeper = sup.start("sleeper", ["sleep", "600"], restart=True)
    sup.start("one-shot", ["sh", "-c", "sleep 0.2; exit 4"])
    assert sup.run() == 4
    assert sleeper.poll() is not None
    assert log.texts() == ["one-shot exited unexpectedly with code 4; stopping"]


def test_sigterm_while_a_child_waits_in_backoff_stops_everything_at_once(workdir):
    script = textwrap.dedent(
        """
        import sys
        from torale.devstack.supervisor import Backoff, Supervisor
        with Supervisor(backoff=Backoff(initial=60.0, cap=60.0)) as sup:
            sup.start("crasher", ["sh", "-c", "sleep 0.2; exit 3"], restart=True)
            sup.start("sleeper", ["sh", "-c", "sleep 600 & exec sleep 600"], restart=True)
            code = sup.run()
        sys.exit(code)
        """
    )
    dev = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    try:
        line = dev.stderr.readline()
        assert "crasher exited with code 3; restarting in 60.0s (restart 1)" in line
        assert len(psutil.Process(dev.pid).children(recursive=True)) >= 2
        stops_on_sigterm(dev, within=5)
    finally:
        if dev.poll() is None:
            dev.kill()
        dev.stderr.close()


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _answers(url: str) -> bool:
    try:
        return redis.Redis.from_url(url, socket_timeout=1).ping()
    except redis.RedisError:
        return False


def test_a_dead_embedded_redis_is_restarted_on_its_port_or_reported(workdir):
    log = TimedLog()
    failures: list[BaseException] = []
    with resolve_services(workdir, {}, services=["redis"]) as services:
        url = services.redis_url
        assert url is not None
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        client = redis.Redis.from_url(url)
        client.set("kept", "yes")
        client.save()  # on disk before the kill
        (owned,) = services.owned_services()
        sup = Supervisor(
            stop_timeout=1.0,
            log=log,
            backoff=Backoff(initial=0.3, factor=2.0, cap=1.0, reset_after=60.0),
            check_every=0.1,
        )
        sup.watch(f"embedded {owned.label}", is_alive=owned.is_alive, restart=owned.restart)

        def scenario() -> None:
            try:
                # 1. SIGKILLed: back on the same port, with its data.
                first_pid = owned.pid
                psutil.Process(first_pid).kill()
                _wait(lambda: owned.pid != first_pid and _answers(url), 15, "a new redis")
                assert redis.Redis.from_url(url).get("kept") == b"yes"
                # 2. Killed while something else takes its port: reported, retried.
                second_pid = owned.pid
                with socket.socket() as squatter:
                    psutil.Process(second_pid).kill()
                    psutil.Process(second_pid).wait(5)
                    # REUSEADDR: our own client connections left the port in TIME_WAIT.
                    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    squatter.bind(("127.0.0.1", port))
                    squatter.listen()
                    _wait(
                        lambda: any("could not be restarted" in t for t in log.texts()),
                        15,
                        "report",
                    )
                _wait(lambda: owned.pid != second_pid and _answers(url), 15, "redis after the port")
            except BaseException as exc:
                failures.append(exc)
            finally:
                sup.request_stop()

        threading.Thread(target=scenario).start()
        with sup:
            assert sup.run() == 0
        assert failures == []
        texts = log.texts()
        assert texts[0] == "embedded Redis died; restarting in 0.3s (restart 1)"
        assert texts[1] == "embedded Redis restarted (restart 1)"
        assert texts[2] == "embedded Redis died; restarting in 0.6s (restart 2)"
        assert re.match(
            r"embedded Redis is down and could not be restarted \(port \d+ on 127.0.0.1 is "
            r"already in use\); retrying in [\d.]+s$",
            texts[3],
        ), texts
        assert texts[-1] == "embedded Redis restarted (restart 2)"
        assert sup.status()["services"]["embedded Redis"]["restarts"] == 2
