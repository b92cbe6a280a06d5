"""SIGTERM/SIGINT at random moments never hang the supervisor nor orphan a process.

Split (a full `torale dev` takes seconds to start, so hundreds of them do not fit):
- hundreds of signals, each ending one `Supervisor.run()` of a long-lived real process
  with real children (where the old handler deadlocked on `threading.Event`);
- dozens of fresh processes, each signalled once at a random moment of its life (while
  children start or while it waits) and required to exit with all its children;
- a few real `torale dev` (its own embedded Redis) signalled at random moments from
  start-up on: each exits and leaves no process, embedded server included.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

from torale.devstack.process import free_port
from torale.devstack.services import stop_recorded_servers

STOP_WITHIN = 10.0
SIGNALS = (signal.SIGTERM, signal.SIGINT)

# Even rounds: two real children, one that exits on the signal and one that leaves a
# grandchild in its group (stopped by the supervisor once the leader is gone), and the
# default poll interval. Odd rounds: no child and a busy wait, so that most random
# signals land inside the wait's own bookkeeping: the window where the old handler,
# calling Event.set() while Event.wait() held its lock, deadlocked (within a few rounds).
ROUNDS_SCRIPT = textwrap.dedent(
    """
    import sys
    from torale.devstack.supervisor import Supervisor
    for n in range(int(sys.argv[1])):
        with Supervisor(stop_timeout=2.0, log=lambda _line: None) as sup:
            pids = []
            if n % 2 == 0:
                pids.append(sup.start("sleeper", ["sleep", "600"]).pid)
                pids.append(sup.start("shell", ["sh", "-c", "sleep 600 & exec sleep 600"]).pid)
            print("round", n, *pids, flush=True)
            code = sup.run(poll_interval=0.1 if pids else 0.0)
        print(f"stopped {n} {code}", flush=True)
    """
)

ONE_SHOT_SCRIPT = textwrap.dedent(
    """
    import sys
    from torale.devstack.supervisor import Supervisor
    with Supervisor(stop_timeout=2.0, log=lambda _line: None) as sup:
        print("entered", flush=True)
        sup.start("sleeper", ["sleep", "600"])
        sup.start("shell", ["sh", "-c", "sleep 600 & exec sleep 600"])
        code = sup.run()
    sys.exit(code)
    """
)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _survivors(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    # Polled rather than psutil.wait_procs: an orphan killed here may stay a zombie
    # for a while (whoever reaps orphans in a container), which counts as gone.
    deadline = time.monotonic() + timeout
    while True:
        alive = [proc for proc in procs if _alive(proc)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.02)


def _family(pids: list[int]) -> list[psutil.Process]:
    family: list[psutil.Process] = []
    for pid in pids:
        try:
            root = psutil.Process(pid)
            family += [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
    return family


def test_hundreds_of_signals_each_end_one_run_promptly():
    rounds, budget = 300, 35.0
    rng = random.Random()
    driver = subprocess.Popen(
        [sys.executable, "-c", ROUNDS_SCRIPT, str(rounds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    done = 0
    started = time.monotonic()
    try:
        while done < rounds and time.monotonic() - started < budget:
            line = driver.stdout.readline().split()
            assert line[:2] == ["round", str(done)], line
            children = _family([int(pid) for pid in line[2:]])
            # Mostly inside run()'s wait, sometimes while it checks the children.
            time.sleep(rng.uniform(0, 0.08))
            sent = time.monotonic()
            driver.send_signal(rng.choice(SIGNALS))
            # A hang here is the bug: readline() would block, so bound it by a watchdog.
            line = _readline_within(driver, STOP_WITHIN)
            assert line.split()[:3] == ["stopped", str(done), "0"], line
            assert time.monotonic() - sent < STOP_WITHIN
            assert _survivors(children, timeout=STOP_WITHIN) == []
            done += 1
    finally:
        if driver.poll() is None:
            driver.kill()
        driver.wait()
    # On a very slow box the budget may cut the count; it must still be in the hundreds.
    assert done >= 100, f"only {done} rounds in {budget}s"


def _readline_within(proc: subprocess.Popen, timeout: float) -> str:
    import selectors

    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise AssertionError(f"no answer within {timeout}s: the supervisor hangs")
    return proc.stdout.readline()


def test_fresh_processes_signalled_at_any_moment_exit_with_all_their_children():
    runs, budget = 30, 20.0
    rng = random.Random()
    started = time.monotonic()
    done = 0
    while done < runs and time.monotonic() - started < budget:
        proc = subprocess.Popen([sys.executable, "-c", ONE_SHOT_SCRIPT], stdout=subprocess.PIPE)
        try:
            assert proc.stdout.readline().strip() == b"entered"
            # From "children still starting" to "waiting in run()".
            time.sleep(rng.uniform(0, 0.1))
            family = _family([proc.pid])
            proc.send_signal(rng.choice(SIGNALS))
            assert proc.wait(timeout=STOP_WITHIN) == 0
            assert _survivors(family + _family([proc.pid]), timeout=STOP_WITHIN) == []
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        done += 1
    assert done >= 15, f"only {done} runs in {budget}s"


def test_a_real_torale_dev_signalled_at_random_moments_leaves_nothing(settings, workdir):
    """From start-up (embedded Redis starting, migrations, children starting) to running."""
    rng = random.Random()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TORALE_TEMPORAL_TASK_QUEUE": f"random-signals-{os.getpid()}",
    }
    env.pop("REDIS_URL", None)  # embedded, owned by the `torale dev` under test
    for run in range(3):
        data_dir = workdir / f"run{run}"
        argv = ["dev", "--port", str(free_port()), "--data-dir", str(data_dir)]
        dev = subprocess.Popen(
            [sys.executable, "-m", "torale", *argv],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            # Until it takes over SIGTERM (its first act, before starting anything),
            # Python itself is still importing and the OS default applies.
            _wait_until_it_catches_sigterm(dev.pid)
            # Start-up takes a few seconds: land anywhere in it, or after it.
            deadline = time.monotonic() + rng.uniform(0.0, 5.0)
            seen: dict[int, psutil.Process] = {}
            while time.monotonic() < deadline and dev.poll() is None:
                for proc in _family([dev.pid]):
                    seen.setdefault(proc.pid, proc)
                time.sleep(0.02)
            assert dev.poll() is None, dev.stderr.read()
            dev.send_signal(rng.choice(SIGNALS))
            sent = time.monotonic()
            assert dev.wait(timeout=STOP_WITHIN) == 0, dev.stderr.read()
            assert time.monotonic() - sent < STOP_WITHIN
            survivors = _survivors(list(seen.values()), timeout=2)
            assert survivors == [], [p.cmdline() for p in survivors]
            assert "Traceback" not in dev.stderr.read()
            assert _no_running_server_recorded(data_dir)
        finally:
            if dev.poll() is None:
                dev.kill()
                dev.wait()
                stop_recorded_servers(data_dir)  # a SIGKILL leaves them running
            dev.stderr.close()


def _wait_until_it_catches_sigterm(pid: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/status").read_text()
        caught = int(status.split("SigCgt:")[1].split()[0], 16)
        if caught & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.01)
    raise AssertionError("torale dev never installed its SIGTERM handler")


def _no_running_server_recorded(data_dir: Path) -> bool:
    import json

    state_file = data_dir / "services.json"
    if not state_file.exists():
        return True
    state = json.loads(state_file.read_text())
    return all(not psutil.pid_exists(record["pid"]) for record in state.values())
