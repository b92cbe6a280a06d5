"""The deployment files: docker-compose.yml, infra/Dockerfile and the everyday tooling.

No Docker engine is needed: the files are parsed and checked for the wiring that a
`docker compose up` depends on, and the environment the Torale services get is fed through
our own `Settings` so a typo in a variable or URL fails here rather than in a container.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests import deployment
from torale.config import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"

TORALE_COMMANDS = {
    "migrate": ["torale", "migrate"],
    # The API runs without docstrings: infra/Dockerfile says why.
    "api": ["python", "-OO", "-m", "torale", "api", "--host", "0.0.0.0", "--port", "8000"],
    "worker-temporal": ["torale", "worker", "temporal"],
    "worker-dramatiq": ["torale", "worker", "dramatiq"],
}
ENGINES = {"postgres", "redis", "temporal"}
LONG_RUNNING = ("api", "worker-temporal", "worker-dramatiq")

# Compose's `${NAME:-default}` / `${NAME}` / `${NAME:?error}` substitution: unset names
# take the default, or stop compose with the error.
_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<kind>:[-?])(?P<text>[^}]*))?\}")
SECRET_KEY_ENV = {"TORALE_SECRET_KEY": "k" * 64}


class RequiredVariableUnset(Exception):
    pass


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    env = env or {}

    def substitute(match: re.Match[str]) -> str:
        if match["name"] in env:
            return env[match["name"]]
        if match["kind"] == ":?":
            raise RequiredVariableUnset(match["text"])
        return match["text"] or ""

    return _VARIABLE.sub(substitute, value)


@pytest.fixture(scope="module")
def services() -> dict[str, dict]:
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]


@pytest.fixture(scope="module")
def dockerfile_instructions() -> list[tuple[str, str]]:
    return deployment.dockerfile_instructions()


def test_interpolate_takes_the_environment_before_the_default() -> None:
    assert interpolate("${A:-x}/${B:-y}/${C}", {"A": "1"}) == "1/y/"
    assert interpolate("${A:?needed}", {"A": "1"}) == "1"
    with pytest.raises(RequiredVariableUnset, match="needed"):
        interpolate("${A:?needed}")


@pytest.mark.parametrize("name", sorted(TORALE_COMMANDS))
def test_compose_refuses_to_start_without_a_secret_key(
    services: dict[str, dict], name: str
) -> None:
    with pytest.raises(RequiredVariableUnset, match="TORALE_SECRET_KEY"):
        interpolate(str(services[name]["environment"]["TORALE_SECRET_KEY"]))


def test_compose_names_every_service(services: dict[str, dict]) -> None:
    assert ENGINES | set(TORALE_COMMANDS) <= set(services)


@pytest.mark.parametrize("name", sorted(TORALE_COMMANDS))
def test_torale_services_build_the_repo_image_and_run_their_command(
    services: dict[str, dict], name: str
) -> None:
    service = services[name]
    assert service["build"] == {"context": ".", "dockerfile": "infra/Dockerfile"}
    assert service["command"] == TORALE_COMMANDS[name]
    assert (ROOT / service["build"]["context"] / service["build"]["dockerfile"]).is_file()


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_engines_use_pinned_official_images(services: dict[str, dict], name: str) -> None:
    image = services[name]["image"]
    repository, _, tag = image.partition(":")
    assert "build" not in services[name]
    assert tag and tag != "latest", f"{name} must pin its image version, got {image!r}"
    assert repository in {"postgres", "redis", "temporalio/temporal"}


@pytest.mark.parametrize("name", sorted(TORALE_COMMANDS))
def test_torale_services_reach_the_engines_by_their_service_names(
    services: dict[str, dict], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        key: interpolate(str(value), SECRET_KEY_ENV)
        for key, value in services[name]["environment"].items()
    }

    assert urlsplit(env["DATABASE_URL"]).hostname == "postgres"
    assert urlsplit(env["REDIS_URL"]).hostname == "redis"
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    # The compose user/password/database must be the ones the postgres service creates.
    postgres_env = {k: interpolate(str(v)) for k, v in services["postgres"]["environment"].items()}
    database = urlsplit(env["DATABASE_URL"])
    assert database.username == postgres_env["POSTGRES_USER"]
    assert database.password == postgres_env["POSTGRES_PASSWORD"]
    assert database.path.lstrip("/") == postgres_env["POSTGRES_DB"]

    for key in [k for k in os.environ if k.startswith("TORALE_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.database_url == env["DATABASE_URL"]
    assert settings.redis_url == env["REDIS_URL"]
    assert settings.temporal_address == "temporal:7233"
    assert settings.environment == "production"


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_services_wait_for_healthy_engines_and_the_migration(
    services: dict[str, dict], name: str
) -> None:
    depends = services[name]["depends_on"]
    for engine in ENGINES:
        assert depends[engine]["condition"] == "service_healthy"
    assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_migration_runs_once_after_postgres_is_healthy(services: dict[str, dict]) -> None:
    migrate = services["migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    # Restarting a finished one-shot job would keep the dependants from ever starting.
    assert migrate["restart"] == "no"


def test_every_awaited_health_has_a_probe(services: dict[str, dict]) -> None:
    for name, service in services.items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown service {target}"
            if rule["condition"] == "service_healthy":
                assert services[target].get("healthcheck", {}).get("test"), (
                    f"{name} waits for {target} to be healthy but {target} has no healthcheck"
                )


def test_only_the_api_keeps_the_image_http_healthcheck(services: dict[str, dict]) -> None:
    assert "healthcheck" not in services["api"]
    for name in ("migrate", "worker-temporal", "worker-dramatiq"):
        assert services[name]["healthcheck"] == {"disable": True}


def test_api_port_is_published(services: dict[str, dict]) -> None:
    published = [interpolate(port) for port in services["api"]["ports"]]
    assert "8000:8000" in published


def test_named_volumes_are_declared() -> None:
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} mounts undeclared volume {source}"


def test_dockerfile_runs_the_api_as_a_non_root_user(
    dockerfile_instructions: list[tuple[str, str]],
) -> None:
    by_keyword: dict[str, list[str]] = {}
    for keyword, rest in dockerfile_instructions:
        by_keyword.setdefault(keyword, []).append(rest)

    assert by_keyword["FROM"] == ["python:3.11-slim"]
    cmd = json.loads(by_keyword["CMD"][-1])
    assert cmd == TORALE_COMMANDS["api"]
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    assert by_keyword["USER"][-1] not in {"root", "0"}
    # USER must come after every RUN that installs, or the install would run unprivileged.
    keywords = [keyword for keyword, _ in dockerfile_instructions]
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")


def test_dockerfile_probes_health_and_keeps_the_migrations_beside_the_package(
    dockerfile_instructions: list[tuple[str, str]],
) -> None:
    healthcheck = " ".join(
        rest for keyword, rest in dockerfile_instructions if keyword == "HEALTHCHECK"
    )
    assert ":8000/health" in healthcheck
    runs = " ".join(rest for keyword, rest in dockerfile_instructions if keyword == "RUN")
    # An editable install keeps torale/ next to infra/migrations, where torale.db looks.
    assert "pip install --no-deps -e ." in runs
    assert ("COPY", ". .") in dockerfile_instructions


def test_dockerfile_ships_the_bytecode_of_the_source_tree(
    dockerfile_instructions: list[tuple[str, str]],
) -> None:
    # The image sets PYTHONDONTWRITEBYTECODE and installs torale editable: without the
    # build compiling it, every process start compiles torale from source.
    source_copied = dockerfile_instructions.index(("COPY", ". ."))
    compiles = [
        rest
        for keyword, rest in dockerfile_instructions[source_copied:]
        if keyword == "RUN" and "compileall" in rest
    ]
    assert compiles, "no RUN after the source COPY compiles the bytecode"
    assert re.search(r"compileall .*\btorale workers\b", compiles[0])


def test_dockerfile_compiles_bytecode_for_the_api_interpreter_options(
    dockerfile_instructions: list[tuple[str, str]],
) -> None:
    # The API runs under -OO, which reads .opt-2.pyc files only: pip compiles level 0, so
    # without these every API start would compile the dependencies and torale from source.
    assert deployment.image_command()[:2] == ["python", "-OO"]
    source_copied = dockerfile_instructions.index(("COPY", ". ."))
    runs = [
        (i, rest) for i, (keyword, rest) in enumerate(dockerfile_instructions) if keyword == "RUN"
    ]
    dependencies = [rest for i, rest in runs if i < source_copied and "pip install -r" in rest]
    assert dependencies and re.search(r"compileall -q -o 2 .*purelib", dependencies[0])
    own = [rest for i, rest in runs if i > source_copied and "compileall" in rest]
    assert own and "-o 0 -o 2 torale workers" in own[0]


def test_dockerignore_keeps_the_migrations_in_the_build_context() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git", ".torale"} <= ignored
    assert not {"infra", "infra/migrations", "torale", "pyproject.toml"} & ignored


def test_makefile_has_the_everyday_targets() -> None:
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    assert {"install", "dev", "test", "lint", "schema", "migrate", "bench"} <= targets


def test_pre_commit_runs_the_pinned_ruff() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    (ruff_repo,) = [r for r in config["repos"] if r["repo"].endswith("/ruff-pre-commit")]
    assert {hook["id"] for hook in ruff_repo["hooks"]} == {"ruff-check", "ruff-format"}
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pinned = next(d.split("==")[1] for d in dev["dev"] if d.startswith("ruff=="))
    assert ruff_repo["rev"] == f"v{pinned}"
