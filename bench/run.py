"""The task list over real sockets: torale REST and /graphql against a bare handler.

    python bench/run.py [--rounds 4] [--seconds 5] [--connections 50] [--tasks 1000]

Each server is its own process with one uvicorn worker on an ephemeral port:

- `bare`: Starlette + asyncpg (bench/bare_app.py) doing the API-key lookup, the page
  query and the count;
- `torale api`, started with the interpreter options of infra/Dockerfile's CMD (`-OO`),
  as the image runs it: serving `GET /api/v1/tasks` (`rest`) and the same page through
  `GET /graphql` (`graphql`);
- a second `torale api` with the access log on for every request (`rest+log`), to
  show what logging costs;
- with `--gates 0,4`, one more `torale api` per limit with
  `TORALE_MAX_CONCURRENT_REQUESTS` set (`rest+g0`: admission off, `rest+g4`), to
  compare limits with the default `rest` in the same run.

The load comes from wrk (`--connections` keep-alive connections), or from
bench/loadgen.py in its own process when wrk is not installed. Targets take turns,
a few seconds each, for `--rounds` rounds in alternating order, so a noisy neighbour
slows them all alike: compare the ratios, they come from one interleaved run.

Server CPU per request is the server process's own user+system CPU time (psutil)
over the requests it answered. The load is a closed loop, so the mean latency is
connections / throughput (Little's law); the tail factor is p99 / that mean. Idle
RSS is read after start-up and a handful of requests; the import time is
`python -X importtime -c "import torale.app"`.

PostgreSQL and Redis come from DATABASE_URL / REDIS_URL when set (the bench adds a
user with `--tasks` tasks and deletes it afterwards), else embedded servers are
started in a temporary directory. `--api-root DIR` runs `torale api` from another
checkout (e.g. `git archive main | tar -x -C /tmp/main`) for before/after tables.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOCKERFILE = ROOT / "infra" / "Dockerfile"
PAGE = 20
TASK_FIELDS = (
    "id user_id name search_query condition_description schedule timezone notify_behavior "
    "executor_type config notifications state condition_met last_known_state "
    "last_notified_at last_execution_id next_run_at is_public view_count subscriber_count "
    "forked_from_task_id created_at updated_at state_changed_at"
)
GRAPHQL_PAGE = (
    f"{{ tasks(page: 1, limit: {PAGE}) {{ items {{ {TASK_FIELDS} }} total page limit }} }}"
)


# --- servers


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    url: str
    log: Path

    @property
    def stats(self) -> psutil.Process:
        return psutil.Process(self.process.pid)

    def cpu_seconds(self) -> float:
        times = self.stats.cpu_times()
        return times.user + times.system

    def rss_mib(self) -> float:
        return self.stats.memory_info().rss / 2**20

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def wait_ready(self, within: float = 120.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(
                    f"{self.name} exited with {self.process.returncode}:\n{self.tail()}"
                )
            try:
                if httpx.get(f"{self.url}/health", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"{self.name} did not answer within {within:g}s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    name: str, argv: list[str], env: dict[str, str], port: int, work: Path, cwd: Path
) -> Server:
    log = work / f"{name.replace(' ', '-').replace('+', '-')}.log"
    process = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    return Server(name=name, process=process, url=f"http://127.0.0.1:{port}", log=log)


def start_bare(db_url: str, work: Path) -> Server:
    port = free_port()
    argv = [
        sys.executable, "-m", "uvicorn", "--factory", "bare_app:create_app",
        "--app-dir", str(HERE), "--host", "127.0.0.1", "--port", str(port),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    return start_server(
        "bare", argv, {**os.environ, "BENCH_DATABASE_URL": db_url}, port, work, HERE
    )


@functools.cache
def image_interpreter_options() -> tuple[str, ...]:
    """The interpreter options of infra/Dockerfile's CMD (`python -OO -m torale api ...`):
    every `torale api` here is started as the image starts it. Read once."""
    cmd_lines = [line for line in DOCKERFILE.read_text().splitlines() if line.startswith("CMD [")]
    command = json.loads(cmd_lines[-1].removeprefix("CMD "))
    return tuple(command[1 : command.index("-m")])


def compile_torale(python: str, root: Path) -> None:
    """torale's bytecode at the levels infra/Dockerfile compiles (0, and 2 for `-OO`).

    With PYTHONDONTWRITEBYTECODE set (as in the image, and on some machines) nothing
    else writes the `-OO` bytecode, and each start would compile torale from source.
    The dependencies' is compiled with `bench/.deployed-venv` (Makefile)."""
    subprocess.run(
        [python, "-m", "compileall", "-q", "-o", "0", "-o", "2", "torale", "workers"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        check=True,
    )


def start_torale(
    name: str,
    env: dict[str, str],
    work: Path,
    api_root: Path | None,
    python: str = sys.executable,
) -> Server:
    port = free_port()
    env = dict(env)
    cwd = ROOT
    if api_root is not None:
        env["PYTHONPATH"] = str(api_root)
        cwd = api_root
    argv = [
        python, *image_interpreter_options(), "-m", "torale", "api",
        "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(work / "data"),
    ]  # fmt: skip
    return start_server(name, argv, env, port, work, cwd)


def deployed_idle_rss(
    python: str,
    env: dict[str, str],
    work: Path,
    api_root: Path | None,
    pages: list[Target],
) -> float:
    """Idle RSS of `torale api` run by `python`, after the pages it serves are checked
    once, as the measured server's are.

    The idle target is about the API as deployed: the image installs the runtime
    dependencies only. The dev environment adds the extras for tests and tracing, and
    redis-py imports the OpenTelemetry SDK whenever it is installed (~2-3 MiB that a
    deployed API without tracing never loads)."""
    server = start_torale("torale-deployed", env, work, api_root, python)
    try:
        server.wait_ready()
        for page in pages:
            Target(page.name, page.label, server, page.path, page.headers).check()
        return server.rss_mib()
    finally:
        server.stop()


# --- services and data


@contextmanager
def services(work: Path) -> Iterator[tuple[str, str]]:
    with ExitStack() as stack:
        db_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
        if not db_url:
            from torale.devstack.postgres import EmbeddedPostgres

            pg = EmbeddedPostgres(work / "pg")
            db_url = pg.start()
            stack.callback(pg.stop)
        if not redis_url:
            from torale.devstack.redis import EmbeddedRedis

            redis = EmbeddedRedis(work / "redis")
            redis_url = redis.start()
            stack.callback(redis.stop)
        yield db_url, redis_url


async def seed(db_url: str, tasks: int) -> tuple[str, str]:
    """A new user with `tasks` tasks; returns (user id, API key)."""
    import asyncpg

    from torale.config import Settings
    from torale.db import create_engine, session_factory, unit_of_work
    from torale.users import service

    engine = create_engine(Settings(database_url=db_url))
    try:
        async with unit_of_work(session_factory(engine)) as session:
            user = await service.ensure_user(session, f"bench-{uuid.uuid4().hex[:8]}@example.com")
            key = (await service.create_api_key(session, user, "bench")).plain_key
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(plain_url(db_url))
    try:
        await conn.executemany(
            "INSERT INTO tasks (id, user_id, name, search_query, condition_description, "
            "schedule, timezone, notify_behavior, executor_type, state, config, notifications, "
            "created_at, updated_at) VALUES ($1, $2, $3, 'What is the price of the thing today?', "
            "'The price is below 100 dollars', '0 9 * * *', 'UTC', 'once', "
            "'llm_grounded_search', 'active', '{}', '[]', "
            "now() - make_interval(secs => $4), now() - make_interval(secs => $4))",
            [(uuid.uuid4(), user.id, f"task {i}", float(i)) for i in range(tasks)],
        )
    finally:
        await conn.close()
    return str(user.id), key


async def unseed(db_url: str, user_id: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(plain_url(db_url))
    try:
        await conn.execute("DELETE FROM users WHERE id = $1", uuid.UUID(user_id))
    finally:
        await conn.close()


def plain_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


# --- load


@dataclass
class Load:
    requests: int
    seconds: float
    p99: float
    bad: int  # non-2xx answers plus socket errors


_WRK_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def run_wrk(url: str, headers: dict[str, str], seconds: int, connections: int) -> Load:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(\w+)", out, re.MULTILINE)
    if not done or not p99:
        raise SystemExit(f"could not read wrk's output:\n{out}")
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors:
        bad += sum(int(n) for n in errors.groups())
    return Load(
        requests=int(done.group(1)),
        seconds=float(done.group(2)) * _WRK_UNITS[done.group(3)],
        p99=float(p99.group(1)) * _WRK_UNITS[p99.group(2)],
        bad=bad,
    )


def run_loadgen(url: str, headers: dict[str, str], seconds: int, connections: int) -> Load:
    argv = [sys.executable, str(HERE / "loadgen.py"), url, "--connections", str(connections)]
    argv += ["--seconds", str(seconds)]
    for name, value in headers.items():
        argv += ["--header", f"{name}: {value}"]
    out = json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)
    return Load(
        requests=out["requests"],
        seconds=out["seconds"],
        p99=out["p99"],
        bad=out["non_2xx"] + out["socket_errors"],
    )


# --- targets


@dataclass
class Target:
    name: str
    label: str
    server: Server
    path: str
    headers: dict[str, str]
    loads: list[Load] = field(default_factory=list)
    cpu: float = 0.0
    connections: int = 0

    @property
    def url(self) -> str:
        return self.server.url + self.path

    def check(self) -> None:
        """The page is really served (20 tasks, no errors) before it is measured."""
        response = httpx.get(self.url, headers=self.headers, timeout=30.0)
        body = response.json()
        page = body["data"]["tasks"] if "data" in body else body
        if response.status_code != 200 or body.get("errors") or len(page["items"]) != PAGE:
            raise SystemExit(f"{self.name}: unexpected answer {response.status_code}: {body}")

    def measure(self, run_load, seconds: int, connections: int, record: bool = True) -> None:
        self.connections = connections
        before = self.server.cpu_seconds()
        load = run_load(self.url, self.headers, seconds, connections)
        cpu = self.server.cpu_seconds() - before
        if load.bad:
            raise SystemExit(f"{self.name}: {load.bad} failed requests\n{self.server.tail()}")
        if record:
            self.loads.append(load)
            self.cpu += cpu
        rate, per_request = load.requests / load.seconds, cpu / max(load.requests, 1) * 1e6
        tail = load.p99 * rate / connections
        print(
            f"  {self.name:9} {rate:8.1f} req/s  p99 {load.p99 * 1e3:7.1f} ms"
            f"  {per_request:8.0f} CPU µs/request  tail {tail:4.1f}"
            f"{'' if record else '  (warm-up)'}",
            file=sys.stderr,
            flush=True,
        )

    @property
    def requests(self) -> int:
        return sum(load.requests for load in self.loads)

    @property
    def rps(self) -> float:
        return self.requests / sum(load.seconds for load in self.loads) if self.loads else 0.0

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.requests * 1e6 if self.requests else float("inf")

    @property
    def p99_ms(self) -> float:
        return statistics.median(load.p99 for load in self.loads) * 1e3

    @property
    def mean_ms(self) -> float:
        """Closed loop: each connection has one request out at a time (Little's law)."""
        return self.connections / self.rps * 1e3 if self.rps else float("inf")


def import_time(python: str, api_root: Path | None, runs: int) -> tuple[float, float] | None:
    """(wall, CPU) seconds of `import torale.app` in a fresh interpreter, best of `runs`.

    Wall time is `python -X importtime`'s figure; the CPU time (the child's own
    user+system time for the import) is the steadier one on a busy machine."""
    if runs < 1:
        return None
    env = dict(os.environ)
    if api_root is not None:
        env["PYTHONPATH"] = str(api_root)
    probe = (
        "import time; began = time.process_time(); import torale.app; "
        "print(time.process_time() - began)"
    )
    wall = cpu = float("inf")
    for _ in range(runs):
        done = subprocess.run(
            [python, *image_interpreter_options(), "-X", "importtime", "-c", probe],
            env=env,
            cwd=api_root or ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        lines = done.stderr.splitlines()
        line = next(line for line in reversed(lines) if line.endswith("| torale.app"))
        wall = min(wall, int(line.split("|")[1]) / 1e6)
        cpu = min(cpu, float(done.stdout.strip()))
    return wall, cpu


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def report(
    targets: list[Target],
    rss: dict[str, float],
    imports: tuple[float, float] | None,
    load_tool: str,
) -> None:
    bare, rest, graphql = targets[0], targets[1], targets[2]
    print(f"\nload: {load_tool}; {len(bare.loads)} interleaved rounds per target\n")
    print("| target | req/s | server CPU µs/request | p99 ms | ratio to bare |")
    print("|---|---|---|---|---|")
    for target in targets:
        print(
            f"| {target.label} | {target.rps:,.0f} | {target.cpu_us:,.0f} | "
            f"{target.p99_ms:.1f} | {ratio(target.rps, bare.rps):.3f} |"
        )
    print()
    print(f"REST / bare throughput: {ratio(rest.rps, bare.rps):.3f} (target >= 0.35)")
    print(f"GraphQL / REST throughput: {ratio(graphql.rps, rest.rps):.3f} (target >= 0.85)")
    print(f"GraphQL / bare throughput: {ratio(graphql.rps, bare.rps):.3f}")
    print(f"REST p99 / bare p99: {ratio(rest.p99_ms, bare.p99_ms):.2f} (target <= 3)")
    logged = next((target for target in targets if target.name == "rest+log"), None)
    if logged is not None:
        print(
            f"access log cost: {ratio(logged.rps, rest.rps) - 1:+.1%} req/s, "
            f"{logged.cpu_us - rest.cpu_us:+,.0f} CPU µs/request (rest+log vs rest)"
        )
    if "deployed" in rss:
        print(
            f"idle RSS: torale api {rss['deployed']:.1f} MiB as deployed (target <= 100; "
            f"python {' '.join(image_interpreter_options())}, runtime dependencies only), "
            f"{rss['torale']:.1f} MiB in this environment; bare {rss['bare']:.1f} MiB; "
            f"after the run: torale api {rss['torale_after']:.1f} MiB"
        )
    else:
        print(
            f"idle RSS: torale api {rss['torale']:.1f} MiB in this environment (target <= 100 "
            f"as deployed: --deployed-python), bare {rss['bare']:.1f} MiB; after the run: "
            f"torale api {rss['torale_after']:.1f} MiB"
        )
    gated = [target for target in targets if target.name.startswith("rest+g")]
    if gated:
        print("\n| target | req/s | CPU µs/request | mean ms | p99 ms | tail (p99/mean) |")
        print("|---|---|---|---|---|---|")
        for target in [bare, rest, *gated]:
            print(
                f"| {target.name} | {target.rps:,.0f} | {target.cpu_us:,.0f} | "
                f"{target.mean_ms:.1f} | {target.p99_ms:.1f} | "
                f"{ratio(target.p99_ms, target.mean_ms):.2f} |"
            )
        print()
    if imports is None:
        print("import time of torale.app: not measured (--import-runs 0)")
    else:
        print(
            f"import time of torale.app: {imports[0]:.2f} s wall (python -X importtime), "
            f"{imports[1]:.2f} s CPU; best of runs"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=5, help="per target and round")
    parser.add_argument("--warmup", type=int, default=2, help="seconds per target, unmeasured")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--tasks", type=int, default=1000, help="tasks of the bench user")
    parser.add_argument("--import-runs", type=int, default=3)
    parser.add_argument("--no-log-target", action="store_true", help="skip rest+log")
    parser.add_argument(
        "--gates",
        type=lambda text: [int(n) for n in text.split(",") if n],
        default=[],
        help="TORALE_MAX_CONCURRENT_REQUESTS to compare, e.g. 0,4,16 (0: off)",
    )
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--api-root", type=Path, help="run `torale api` from this checkout")
    parser.add_argument(
        "--deployed-python",
        # Absolute (not resolved: a venv's python is a symlink that must stay the venv's):
        # with --api-root the servers start in that other checkout.
        type=os.path.abspath,
        help="the Python of a venv holding only torale's runtime dependencies (as "
        "infra/Dockerfile installs them; `make bench` builds one): idle RSS as deployed",
    )
    args = parser.parse_args()

    use_wrk = args.loadgen == "wrk" or (args.loadgen == "auto" and shutil.which("wrk"))
    run_load = run_wrk if use_wrk else run_loadgen
    work = Path(tempfile.mkdtemp(prefix="torale-bench-"))
    servers: list[Server] = []
    for python in {sys.executable, args.deployed_python or sys.executable}:
        compile_torale(python, args.api_root or ROOT)
    try:
        with services(work) as (db_url, redis_url):
            from torale.db import migrate

            migrate(db_url)
            user_id, key = asyncio.run(seed(db_url, args.tasks))
            try:
                env = {
                    **os.environ,
                    "DATABASE_URL": db_url,
                    "REDIS_URL": redis_url,
                    # Listing tasks never calls Temporal; the client connects lazily.
                    "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
                    "TORALE_RATE_LIMITS": "1000000/minute",
                }
                bare = start_bare(db_url, work)
                torale = start_torale("torale", env, work, args.api_root)
                servers += [bare, torale]
                if not args.no_log_target:
                    logged = {**env, "TORALE_ACCESS_LOG_SAMPLE": "1"}
                    servers.append(start_torale("torale+log", logged, work, args.api_root))
                gated = {
                    limit: start_torale(
                        f"torale+g{limit}",
                        {**env, "TORALE_MAX_CONCURRENT_REQUESTS": str(limit)},
                        work,
                        args.api_root,
                    )
                    for limit in args.gates
                }
                servers += gated.values()
                for server in servers:
                    server.wait_ready()
                auth = {"Authorization": f"Bearer {key}"}
                graphql_path = "/graphql?" + urlencode({"query": GRAPHQL_PAGE})
                targets = [
                    Target("bare", "bare Starlette + asyncpg", bare, "/api/v1/tasks", auth),
                    Target(
                        "rest", "torale REST `GET /api/v1/tasks`", torale, "/api/v1/tasks", auth
                    ),
                    Target(
                        "graphql", "torale `GET /graphql`, same page", torale, graphql_path, auth
                    ),
                ]
                if not args.no_log_target:
                    targets.append(
                        Target(
                            "rest+log",
                            "torale REST, access log on",
                            servers[2],
                            "/api/v1/tasks",
                            auth,
                        )
                    )
                targets += [
                    Target(f"rest+g{limit}",
                           f"torale REST, at most {limit} in the app" if limit
                           else "torale REST, admission off",
                           server, "/api/v1/tasks", auth)
                    for limit, server in gated.items()
                ]  # fmt: skip
                for target in targets:
                    target.check()
                rss = {"torale": torale.rss_mib(), "bare": bare.rss_mib()}
                if args.deployed_python:
                    rss["deployed"] = deployed_idle_rss(
                        args.deployed_python, env, work, args.api_root, targets[1:3]
                    )
                if args.warmup:
                    for target in targets:
                        target.measure(run_load, args.warmup, args.connections, record=False)
                for round_ in range(args.rounds):
                    for target in targets if round_ % 2 == 0 else reversed(targets):
                        target.measure(run_load, args.seconds, args.connections)
                rss["torale_after"] = torale.rss_mib()
            finally:
                for server in servers:
                    server.stop()
                asyncio.run(unseed(db_url, user_id))
        report(
            targets,
            rss,
            import_time(args.deployed_python or sys.executable, args.api_root, args.import_runs),
            "wrk" if use_wrk else "bench/loadgen.py",
        )
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
