"""The `torale` command: the whole stack (`dev`), each part alone, and bootstrap tools.

Every command finds its services the same way: DATABASE_URL / REDIS_URL /
TEMPORAL_ADDRESS when set, otherwise the embedded servers of the data directory
(reused when `torale dev` runs them, started for the command's lifetime when not).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from functools import partial, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from pydantic import ValidationError

from torale.client_cli import WithClientCommands
from torale.config import Settings
from torale.devstack.errors import DevStackError
from torale.devstack.services import ALL_SERVICES, POSTGRES, REDIS, TEMPORAL, ResolvedServices

if TYPE_CHECKING:
    from torale.devstack.signals import StopSignals

ADMIN_KEY_FILE = "admin-api-key"
# Restart counts of `torale dev`'s children, read by the API's /ready.
SUPERVISOR_STATUS_FILE = "supervisor.json"
DEFAULT_ADMIN_EMAIL = "admin@localhost"


class CommandError(Exception):
    """A problem the user can fix, reported as one line without a traceback."""


def _one_line_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (DevStackError, CommandError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except ValidationError as exc:
            first = exc.errors()[0]
            click.echo(f"error: invalid configuration: {first['msg']}", err=True)
            sys.exit(2)

    return wrapper


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=lambda: os.environ.get("TORALE_DATA_DIR", ".torale"),
    show_default=".torale (env TORALE_DATA_DIR)",
    help="Where embedded PostgreSQL, Redis and Temporal keep their data.",
)


@contextmanager
def services_for(
    data_dir: Path,
    needed: Collection[str] = ALL_SERVICES,
    abort: Callable[[], bool] | None = None,
) -> Iterator[Settings]:
    """Settings pointing at resolved services, which stay up for the block."""
    with resolved_services(data_dir, needed, abort) as resolved:
        yield settings_for(resolved, data_dir)


@contextmanager
def resolved_services(
    data_dir: Path,
    needed: Collection[str] = ALL_SERVICES,
    abort: Callable[[], bool] | None = None,
) -> Iterator[ResolvedServices]:
    from torale.devstack.services import resolve_services

    Settings()  # refuse unsafe configuration before starting anything
    with resolve_services(data_dir, os.environ, services=needed, abort=abort) as resolved:
        yield resolved


def settings_for(resolved: ResolvedServices, data_dir: Path) -> Settings:
    overrides: dict[str, Any] = {"data_dir": data_dir}
    for field, value in (
        ("database_url", resolved.database_url),
        ("redis_url", resolved.redis_url),
        ("temporal_address", resolved.temporal_address),
    ):
        if value is not None:
            overrides[field] = value
    if resolved.temporal_ui_url and not os.environ.get("TORALE_TEMPORAL_UI_URL"):
        overrides["temporal_ui_url"] = resolved.temporal_ui_url
    if not os.environ.get("TORALE_SECRET_KEY"):
        # Development only: production refused to start without one (`services_for`).
        from torale.devstack.secret_key import data_dir_secret_key

        overrides["secret_key"] = data_dir_secret_key(data_dir)
    return Settings(**overrides)


def _child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = settings.database_url or ""
    env["REDIS_URL"] = settings.redis_url or ""
    env["TEMPORAL_ADDRESS"] = settings.temporal_address or ""
    env["TORALE_DATA_DIR"] = str(settings.data_dir)
    if settings.temporal_ui_url:
        env["TORALE_TEMPORAL_UI_URL"] = settings.temporal_ui_url
    if settings.secret_key:
        env["TORALE_SECRET_KEY"] = settings.secret_key.get_secret_value()
    return env


def _migrate(settings: Settings) -> None:
    from torale.db import migrate

    assert settings.database_url
    migrate(settings.database_url)


async def _create_user_key(
    settings: Settings, email: str, *, admin: bool, only_if_no_admin: bool = False
) -> str | None:
    from torale.db import create_engine, session_factory, unit_of_work
    from torale.users import service

    engine = create_engine(settings)
    try:
        async with unit_of_work(session_factory(engine)) as session:
            if only_if_no_admin and await service.any_admin_exists(session):
                return None
            user = await service.ensure_user(session, email, admin=admin)
            created = await service.create_api_key(session, user, "cli")
            return created.plain_key
    finally:
        await engine.dispose()


def _write_secret(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    os.chmod(path, 0o600)


@click.group(cls=WithClientCommands)
def main() -> None:
    """Torale: watch the web with grounded search, get told when a condition is met."""


@main.command()
@data_dir_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@_one_line_errors
def dev(data_dir: Path, host: str, port: int) -> None:
    """Run everything: embedded services (unless configured), API and both workers.

    A crashed API or worker is restarted with backoff, and so is a dead embedded server
    started here; SIGINT/SIGTERM stops everything.
    """
    from torale.devstack.errors import Interrupted
    from torale.devstack.process import ensure_port_free, ensure_writable_dir
    from torale.devstack.signals import StopSignals

    ensure_port_free(port, host)
    ensure_writable_dir(data_dir)  # the admin key lands there even with external services
    # From here on a signal is only recorded (see StopSignals); every wait checks it.
    with StopSignals() as signals:
        try:
            code = _run_dev(signals, data_dir, host, port)
        except Interrupted:
            click.echo("torale: stopped while starting", err=True)
            code = 0
    sys.exit(code)


def _run_dev(signals: StopSignals, data_dir: Path, host: str, port: int) -> int:
    from torale.devstack.supervisor import Supervisor
    from torale.observability.multiprocess import multiprocess_env

    def stopping() -> bool:
        return signals.count > 0

    with resolved_services(data_dir, abort=stopping) as resolved:
        settings = settings_for(resolved, data_dir)
        _migrate(settings)
        admin_key = asyncio.run(
            _create_user_key(settings, DEFAULT_ADMIN_EMAIL, admin=True, only_if_no_admin=True)
        )
        status_file = Path(data_dir).absolute() / SUPERVISOR_STATUS_FILE
        env = {
            **_child_env(settings),
            "TORALE_SUPERVISOR_STATUS_FILE": str(status_file),
            # One /metrics for the API and both workers (torale.observability.metrics).
            **multiprocess_env(Path(data_dir)),
        }
        me = [sys.executable, "-m", "torale"]
        # 6 s of grace for the children leaves the embedded servers time to stop
        # within the 10 s a stop may take (they need about 1.5 s).
        with Supervisor(signals=signals, status_file=status_file, stop_timeout=6.0) as supervisor:
            api = [*me, "api", "--host", host, "--port", str(port)]
            supervisor.start("api", api, env=env, restart=True)
            supervisor.start("temporal worker", [*me, "worker", "temporal"], env=env, restart=True)
            supervisor.start("dramatiq worker", [*me, "worker", "dramatiq"], env=env, restart=True)
            for service in resolved.owned_services():
                supervisor.watch(
                    f"embedded {service.label}",
                    is_alive=service.is_alive,
                    restart=partial(service.restart, stopping),
                )
            click.echo(f"PostgreSQL: {settings.database_url}")
            click.echo(f"Redis: {settings.redis_url}")
            click.echo(f"Temporal: {settings.temporal_address}")
            if settings.temporal_ui_url:
                click.echo(f"Temporal UI: {settings.temporal_ui_url}")
            click.echo(f"API: http://{host}:{port}")
            click.echo(f"GraphQL: http://{host}:{port}/graphql")
            click.echo(f"Temporal worker: task queue {settings.temporal_task_queue}")
            click.echo(f"Dramatiq worker: {settings.redis_url}")
            if admin_key:
                key_file = Path(data_dir) / ADMIN_KEY_FILE
                _write_secret(key_file, admin_key)
                click.echo(f"Admin API key (shown once, also in {key_file}): {admin_key}")
            sys.stdout.flush()
            return supervisor.run()


@main.command()
@data_dir_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@_one_line_errors
def api(data_dir: Path, host: str, port: int) -> None:
    """Run the API server alone."""
    import uvicorn

    from torale.app import create_app
    from torale.devstack.process import ensure_port_free
    from torale.gc_policy import collect_less_often, freeze_startup_objects

    ensure_port_free(port, host)
    with services_for(data_dir) as settings:
        _configure_logging(settings)
        app = create_app(settings)
        freeze_startup_objects()
        collect_less_often()
        # No uvicorn access log (TORALE_ACCESS_LOG_SAMPLE opts into ours) and no logging
        # config of uvicorn's own; no websockets: the API serves none.
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            ws="none",
        )


def _configure_logging(settings: Settings) -> None:
    from torale.log_setup import configure_logging

    configure_logging(settings.log_format, settings.log_level)


@main.group()
def worker() -> None:
    """Run one of the workers alone."""


@worker.command("temporal")
@data_dir_option
@_one_line_errors
def temporal_worker(data_dir: Path) -> None:
    """Run task executions and the schedule reconciler."""
    from workers import temporal_worker as module

    with services_for(data_dir) as settings:
        _configure_logging(settings)
        module.main(settings)
    module.exit_without_finalizing()


@worker.command("dramatiq")
@data_dir_option
@click.option("--processes", default=1, show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int)
@_one_line_errors
def dramatiq_worker(data_dir: Path, processes: int, threads: int) -> None:
    """Run notification deliveries."""
    from dramatiq.cli import main as dramatiq_main

    with services_for(data_dir, needed=(POSTGRES, REDIS)) as settings:
        os.environ.update(_child_env(settings))
        # Our handler, inherited by the forked worker processes, instead of Dramatiq's.
        _configure_logging(settings)
        sys.argv = [
            "dramatiq",
            "--skip-logging",
            "--processes",
            str(processes),
            "--threads",
            str(threads),
            "workers.dramatiq_worker",
        ]
        sys.exit(dramatiq_main())


@main.command()
@data_dir_option
@_one_line_errors
def migrate(data_dir: Path) -> None:
    """Apply database migrations."""
    with services_for(data_dir, needed=(POSTGRES,)) as settings:
        _migrate(settings)
        click.echo("migrations applied")


@main.command()
@data_dir_option
@_one_line_errors
def reconcile(data_dir: Path) -> None:
    """Repair drift between tasks and their Temporal schedules; print each fix."""
    with services_for(data_dir, needed=(POSTGRES, TEMPORAL)) as settings:
        report = asyncio.run(_reconcile(settings))
        click.echo(str(report) if report.fixes else f"no drift ({report.checked} checked)")


async def _reconcile(settings: Settings) -> Any:
    from temporalio.client import Client

    from torale.db import create_engine, session_factory
    from torale.scheduling.scheduler import TaskScheduler
    from torale.tasks.reconcile import reconcile_tasks

    assert settings.temporal_address
    try:
        client = await Client.connect(
            settings.temporal_address, namespace=settings.temporal_namespace
        )
    except RuntimeError as exc:
        raise CommandError(f"cannot reach Temporal at {settings.temporal_address}: {exc}") from None
    engine = create_engine(settings)
    try:
        return await reconcile_tasks(
            session_factory(engine), TaskScheduler(client, settings.temporal_task_queue)
        )
    finally:
        await engine.dispose()


@main.group()
def users() -> None:
    """Manage users without an identity provider."""


@users.command("create")
@data_dir_option
@click.option("--email", required=True)
@click.option("--admin", is_flag=True, help="Give the user the admin role.")
@_one_line_errors
def users_create(data_dir: Path, email: str, admin: bool) -> None:
    """Create the user if needed and print a new API key for them."""
    from email_validator import EmailNotValidError, validate_email

    try:
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise CommandError(f"invalid email: {exc}") from None
    with services_for(data_dir, needed=(POSTGRES,)) as settings:
        _migrate(settings)
        key = asyncio.run(_create_user_key(settings, email, admin=admin))
    click.echo(key)
