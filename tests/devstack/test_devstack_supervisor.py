"""The `torale dev` supervisor leaves nothing running, whatever ends it."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from torale.devstack.errors import DevStackError
from torale.devstack.supervisor import Supervisor

# Ignores SIGTERM/SIGINT and so does the grandchild it spawns into its own group.
STUBBORN = textwrap.dedent(
    """
    import signal, subprocess, sys, time
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    time.sleep(600)
    """
)


def _graceful(marker) -> str:
    # Records which signal reached it, then exits as a well-behaved server would.
    return textwrap.dedent(
        f"""
        import signal, sys, time
        def stop(signum, frame):
            open({str(marker)!r}, "w").write(signal.Signals(signum).name)
            sys.exit(0)
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        open({str(marker)!r} + ".ready", "w").close()
        time.sleep(600)
        """
    )


def _supervisor_script(marker) -> str:
    return textwrap.dedent(
        f"""
        import sys
        from torale.devstack.supervisor import Supervisor
        sup = Supervisor(stop_timeout=1.0)
        sup.start("stubborn", [sys.executable, "-c", {STUBBORN!r}])
        sup.start("graceful", [sys.executable, "-c", {_graceful(marker)!r}])
        print("running", flush=True)
        sys.exit(sup.run())
        """
    )


def _descendants_when(proc: psutil.Process, count: int) -> list[psutil.Process]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        family = proc.children(recursive=True)
        if len(family) >= count:
            return family
        time.sleep(0.05)
    raise AssertionError(f"expected {count} descendants, saw {proc.children(recursive=True)}")


def _wait_for(path) -> None:
    deadline = time.monotonic() + 10
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_every_child_and_grandchild(workdir, signum):
    marker = workdir / "graceful-got"
    script = _supervisor_script(marker)
    supervisor = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert supervisor.stdout.readline().strip() == b"running"
    supervisor.stdout.close()
    family = _descendants_when(psutil.Process(supervisor.pid), 3)
    _wait_for(marker.with_name(marker.name + ".ready"))

    supervisor.send_signal(signum)
    assert supervisor.wait(timeout=10) == 0
    survivors = [proc for proc in family if _alive(proc)]
    assert survivors == []
    # The well-behaved child was told to stop with SIGTERM, whichever signal we sent.
    assert marker.read_text() == "SIGTERM"


def test_a_child_exiting_stops_the_others_and_fails(workdir):
    lines: list[str] = []
    sup = Supervisor(stop_timeout=1.0, log=lines.append)
    sleeper = sup.start("sleeper", [sys.executable, "-c", "import time; time.sleep(600)"])
    sup.start("crasher", [sys.executable, "-c", "import time, sys; time.sleep(0.3); sys.exit(3)"])
    assert sup.run() == 3
    assert sleeper.poll() is not None
    assert lines == ["crasher exited unexpectedly with code 3; stopping"]


def test_a_child_exiting_cleanly_is_still_a_failure():
    sup = Supervisor(stop_timeout=1.0, log=lambda _line: None)
    sup.start("quitter", [sys.executable, "-c", "pass"])
    assert sup.run() == 1


def test_a_child_that_cannot_start_stops_the_ones_already_running():
    sup = Supervisor(stop_timeout=1.0)
    first = sup.start("sleeper", [sys.executable, "-c", "import time; time.sleep(600)"])
    with pytest.raises(DevStackError, match="cannot start missing"):
        sup.start("missing", ["/nonexistent/torale-binary"])
    assert first.poll() is not None


def test_request_stop_from_another_thread_ends_run():
    import threading

    sup = Supervisor(stop_timeout=1.0)
    child = sup.start("sleeper", [sys.executable, "-c", "import time; time.sleep(600)"])
    threading.Timer(0.3, sup.request_stop).start()
    assert sup.run() == 0
    assert child.poll() is not None


def test_sigterm_to_a_dev_like_process_stops_its_children_and_then_its_servers(workdir):
    script = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        from torale.devstack.services import resolve_services
        from torale.devstack.supervisor import Supervisor
        with resolve_services(Path({str(workdir)!r}), {{}}, services=["redis"]) as services, \\
                Supervisor(stop_timeout=2.0) as sup:
            sup.start("user", [sys.executable, "-c", "import time; time.sleep(600)"],
                      env={{**os.environ, **services.as_env()}})
            print("running", flush=True)
            code = sup.run()
        sys.exit(code)
        """
    )
    dev = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert dev.stdout.readline().strip() == b"running"
    dev.stdout.close()
    # redis-server is a descendant too, though in a session of its own.
    family = _descendants_when(psutil.Process(dev.pid), 2)
    names = {proc.name() for proc in family}
    assert any("redis" in name for name in names)

    dev.send_signal(signal.SIGTERM)
    assert dev.wait(timeout=15) == 0
    assert [proc for proc in family if _alive(proc)] == []


def test_a_signal_while_children_are_still_starting_is_not_lost(tmp_path):
    # `torale dev` spends seconds between entering the supervisor and `run()`;
    # SIGTERM in that window must still stop everything and exit cleanly.
    pid_file = tmp_path / "child.pid"
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from torale.devstack.supervisor import Supervisor
        with Supervisor(stop_timeout=2.0) as sup:
            print("entered", flush=True)
            time.sleep(1.0)  # the signal lands here, before run()
            child = sup.start("late", [sys.executable, "-c", "import time; time.sleep(600)"])
            Path({str(pid_file)!r}).write_text(str(child.pid))
            code = sup.run()
        sys.exit(code)
        """
    )
    dev = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert dev.stdout.readline().strip() == b"entered"
    dev.stdout.close()
    dev.send_signal(signal.SIGTERM)
    assert dev.wait(timeout=15) == 0
    child_pid = int(pid_file.read_text())
    assert not psutil.pid_exists(child_pid) or not _alive(psutil.Process(child_pid))


def test_children_die_with_a_killed_supervisor(workdir):
    script = textwrap.dedent(
        """
        import sys, time
        from torale.devstack.supervisor import Supervisor
        sup = Supervisor()
        sup.start("sleeper", [sys.executable, "-c", "import time; time.sleep(600)"])
        print("running", flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert parent.stdout.readline().strip() == b"running"
    parent.stdout.close()
    (child,) = _descendants_when(psutil.Process(parent.pid), 1)
    parent.kill()
    parent.wait()
    psutil.wait_procs([child], timeout=5)
    assert not _alive(child)
