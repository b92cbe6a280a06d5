"""Which PostgreSQL / Redis / Temporal a `torale` command uses.

The environment variable wins when set. Otherwise the embedded server of the data
directory: the one another `torale` process recorded in `<data-dir>/services.json`
when it is still alive, else a new one started here. Servers started here stop when
the `ResolvedServices` closes; a recorded server whose recorder has died is adopted
(stopped on close too), so nothing outlives the last process using it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torale.devstack.errors import DevStackError
from torale.devstack.process import (
    ensure_writable_dir,
    pid_is_running,
    port_answers,
    process_create_time,
)

if TYPE_CHECKING:
    from torale.devstack.server import EmbeddedServer

POSTGRES = "postgres"
REDIS = "redis"
TEMPORAL = "temporal"
ALL_SERVICES = (POSTGRES, REDIS, TEMPORAL)
ENV_VARS = {POSTGRES: "DATABASE_URL", REDIS: "REDIS_URL", TEMPORAL: "TEMPORAL_ADDRESS"}
STATE_FILE = "services.json"
LOCK_FILE = ".services.lock"


def server_class(name: str) -> type[EmbeddedServer]:
    """The embedded server of `name`, imported by the first command that starts, adopts,
    stops or names one: a deployment with every service configured (`torale api` in
    production) never loads them (issue 12: idle RSS)."""
    if name == POSTGRES:
        from torale.devstack.postgres import EmbeddedPostgres

        return EmbeddedPostgres
    if name == REDIS:
        from torale.devstack.redis import EmbeddedRedis

        return EmbeddedRedis
    if name == TEMPORAL:
        from torale.devstack.temporal import EmbeddedTemporal

        return EmbeddedTemporal
    raise ValueError(f"unknown service: {name}")


@dataclass
class _Owned:
    name: str
    pid: int
    create_time: float | None
    server: EmbeddedServer | None  # None when adopted from a dead recorder


@dataclass
class OwnedService:
    """An embedded server this process started or adopted: `torale dev` watches it and
    starts it again, on the same port, when it dies."""

    label: str
    _resolved: ResolvedServices = field(repr=False)
    _item: _Owned = field(repr=False)

    @property
    def pid(self) -> int:
        return self._item.pid

    def is_alive(self) -> bool:
        return pid_is_running(self._item.pid, self._item.create_time)

    def restart(self, abort: Callable[[], bool] | None = None) -> None:
        """Raises DevStackError (Interrupted when `abort()` turned True) on failure."""
        self._resolved._revive(self._item, abort)


@dataclass
class ResolvedServices:
    """Where each service is. A field is None only for a service not asked for that is
    neither configured nor running."""

    data_dir: Path | None
    database_url: str | None = None
    redis_url: str | None = None
    temporal_address: str | None = None
    temporal_ui_url: str | None = None
    external: set[str] = field(default_factory=set)  # from the environment
    reused: set[str] = field(default_factory=set)  # run by another live `torale` process
    started: set[str] = field(default_factory=set)  # started by this process
    adopted: set[str] = field(default_factory=set)  # recorded by a process that died
    _owned: list[_Owned] = field(default_factory=list, repr=False)

    def close(self) -> None:
        """Stop the servers this process owns, Temporal first and PostgreSQL last."""
        owned, self._owned = self._owned, []
        if not owned or self.data_dir is None:
            return
        # Under the lock, so no other command picks up a server while it goes down.
        with _locked(self.data_dir):
            try:
                _stop(owned)
            finally:
                state = _read_state(self.data_dir)
                _forget(state, owned)
                _write_state(self.data_dir, state)

    def owned_services(self) -> list[OwnedService]:
        return [OwnedService(server_class(item.name).label, self, item) for item in self._owned]

    def _revive(self, item: _Owned, abort: Callable[[], bool] | None) -> None:
        assert self.data_dir is not None
        with _locked(self.data_dir):
            state = _read_state(self.data_dir)
            record = state.get(item.name, {})
            server = item.server or _server_for_record(self.data_dir, item.name, record)
            server.restart_in_place(abort)
            assert server.pid is not None
            item.server, item.pid = server, server.pid
            item.create_time = process_create_time(server.pid)
            record.update(pid=item.pid, create_time=item.create_time, port=server.port, **_me())
            state[item.name] = record
            _write_state(self.data_dir, state)

    def as_env(self) -> dict[str, str]:
        """The variables that make a child process use exactly these services."""
        values = {
            ENV_VARS[POSTGRES]: self.database_url,
            ENV_VARS[REDIS]: self.redis_url,
            ENV_VARS[TEMPORAL]: self.temporal_address,
        }
        return {name: value for name, value in values.items() if value is not None}

    def __enter__(self) -> ResolvedServices:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _set(self, name: str, record: Mapping[str, Any]) -> None:
        if name == POSTGRES:
            self.database_url = record["url"]
        elif name == REDIS:
            self.redis_url = record["url"]
        else:
            self.temporal_address = record["url"]
            self.temporal_ui_url = record.get("ui_url")


def resolve_services(
    data_dir: Path,
    env: Mapping[str, str],
    *,
    start_missing: bool = True,
    services: Collection[str] = ALL_SERVICES,
    ports: Mapping[str, int] | None = None,
    abort: Callable[[], bool] | None = None,
) -> ResolvedServices:
    """Find or start every service in `services` (the others are filled in only when
    configured or already running). `ports` fixes the port of a server started here,
    e.g. `{"postgres": 5433}`; `start_missing=False` raises instead of starting one.
    `abort()` turning True while a server starts raises `Interrupted`."""
    unknown = set(services) - set(ALL_SERVICES)
    if unknown:
        raise ValueError(f"unknown services: {sorted(unknown)}")
    ports = ports or {}
    data_dir = Path(data_dir).expanduser().absolute()
    embedded = [name for name in ALL_SERVICES if not env.get(ENV_VARS[name])]
    # A deployment with everything configured never touches (or needs) a data dir.
    resolved = ResolvedServices(data_dir=data_dir if embedded else None)
    for name in ALL_SERVICES:
        if name not in embedded:
            resolved.external.add(name)
            resolved._set(name, {"url": env[ENV_VARS[name]]})
    if not embedded:
        return resolved
    ensure_writable_dir(data_dir)
    with _locked(data_dir):
        state = _read_state(data_dir)
        try:
            for name in embedded:
                record = state.get(name)
                if record is not None and _record_alive(record):
                    _reuse(resolved, state, name, record)
                elif name in services and start_missing:
                    state.pop(name, None)
                    _start(resolved, state, data_dir, name, ports.get(name), abort)
                elif name in services:
                    raise DevStackError(
                        f"{server_class(name).label} is not running: set "
                        f"{ENV_VARS[name]} or start `torale dev`"
                    )
                else:
                    state.pop(name, None)
        except BaseException:
            owned, resolved._owned = resolved._owned, []
            try:
                _stop(owned)
            finally:
                _forget(state, owned)
                _write_state(data_dir, state)
            raise
        _write_state(data_dir, state)
    return resolved


def stop_recorded_servers(data_dir: Path) -> None:
    """Stop the embedded servers of `data_dir` whose recorder is gone (e.g. a `torale
    dev` killed with SIGKILL, which leaves them running on purpose)."""
    if (Path(data_dir) / STATE_FILE).exists():
        resolve_services(data_dir, {}, start_missing=False, services=()).close()


def _me() -> dict[str, Any]:
    return {"owner_pid": os.getpid(), "owner_create_time": process_create_time(os.getpid())}


def _reuse(resolved: ResolvedServices, state: dict, name: str, record: dict) -> None:
    resolved._set(name, record)
    owner = record.get("owner_pid")
    if isinstance(owner, int) and pid_is_running(owner, record.get("owner_create_time")):
        resolved.reused.add(name)
        return
    record.update(_me())
    state[name] = record
    resolved.adopted.add(name)
    resolved._owned.append(_Owned(name, record["pid"], record.get("create_time"), None))


def _start(
    resolved: ResolvedServices,
    state: dict,
    data_dir: Path,
    name: str,
    port: int | None,
    abort: Callable[[], bool] | None,
) -> None:
    server = server_class(name)(data_dir / name, port)
    url = server.start(abort)
    assert server.pid is not None
    record: dict[str, Any] = {
        "url": url,
        "pid": server.pid,
        "create_time": process_create_time(server.pid),
        "port": server.port,
        **_me(),
    }
    if name == TEMPORAL:
        from torale.devstack.temporal import EmbeddedTemporal

        assert isinstance(server, EmbeddedTemporal)
        record["ui_url"] = server.ui_url
        record["ui_port"] = server.ui_port
    state[name] = record
    resolved.started.add(name)
    resolved._owned.append(_Owned(name, server.pid, record["create_time"], server))
    resolved._set(name, record)


def _server_for_record(data_dir: Path, name: str, record: Mapping[str, Any]) -> EmbeddedServer:
    """A server object for an adopted record, set to come back on the recorded ports."""
    server = server_class(name)(data_dir / name, record.get("port"))
    if name == TEMPORAL:
        from torale.devstack.temporal import EmbeddedTemporal

        assert isinstance(server, EmbeddedTemporal)
        server.requested_ui_port = record.get("ui_port")
    return server


def _stop(owned: list[_Owned]) -> None:
    for item in reversed(owned):
        if item.server is not None:
            item.server.stop()
        else:
            server_class(item.name).stop_pid(item.pid, item.create_time)


def _forget(state: dict[str, Any], owned: list[_Owned]) -> None:
    for item in owned:
        if state.get(item.name, {}).get("pid") == item.pid:
            del state[item.name]


def _record_alive(record: Mapping[str, Any]) -> bool:
    try:
        pid, port = int(record["pid"]), int(record["port"])
    except (KeyError, TypeError, ValueError):
        return False
    return pid_is_running(pid, record.get("create_time")) and port_answers(port)


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """Serialise resolvers of one data dir so two commands never start two servers."""
    with (data_dir / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_state(data_dir: Path) -> dict[str, Any]:
    try:
        state = json.loads((data_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _write_state(data_dir: Path, state: Mapping[str, Any]) -> None:
    path = data_dir / STATE_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
