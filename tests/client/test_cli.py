"""The `torale` API commands, through Click's runner and once as a real process, against
the API served on an ephemeral port."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from torale.cli import main

QUERY = "When is the next iPhone being released?"
CONDITION = "Apple has announced a specific release date"
CREATE = ("tasks", "create", "--query", QUERY, "--condition", CONDITION)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return tmp_path / "torale" / "config.json"


@pytest.fixture
def torale(live_server, account, config_file):
    """`torale(*args)` as the account, configured by environment variables."""
    env = {
        "TORALE_CONFIG": str(config_file),
        "TORALE_API_URL": live_server.url,
        "TORALE_API_KEY": account.key,
    }

    def run(
        *args: str, key: str | None = None, expect: int = 0, input: str | None = None
    ) -> Result:
        result = CliRunner().invoke(
            main, list(args), env={**env, "TORALE_API_KEY": key or account.key}, input=input
        )
        assert result.exit_code == expect, (args, result.output, result.stderr)
        return result

    return run


def one_line_error(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert result.stdout == ""
    return lines[0]


def test_login_saves_a_private_config_that_later_commands_use(live_server, account, config_file):
    env = {"TORALE_CONFIG": str(config_file), "TORALE_API_KEY": None, "TORALE_API_URL": None}
    runner = CliRunner()
    result = runner.invoke(
        main, ["login", "--url", live_server.url], input=f"{account.key}\n", env=env
    )
    assert result.exit_code == 0, result.output
    assert account.email in result.stdout and account.key not in result.stdout
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert json.loads(config_file.read_text()) == {
        "api_key": account.key,
        "api_url": live_server.url,
    }
    whoami = runner.invoke(main, ["whoami", "--json"], env=env)
    assert whoami.exit_code == 0 and json.loads(whoami.stdout)["email"] == account.email


def test_login_with_a_bad_key_saves_nothing(live_server, config_file):
    env = {"TORALE_CONFIG": str(config_file)}
    result = CliRunner().invoke(
        main, ["login", "--url", live_server.url, "--api-key", "sk_" + "x" * 32], env=env
    )
    assert result.exit_code == 1
    assert one_line_error(result) == "error: 401: Invalid API key"
    assert not config_file.exists()


def test_no_key_is_a_usage_error(live_server, config_file):
    env = {"TORALE_CONFIG": str(config_file), "TORALE_API_KEY": None}
    result = CliRunner().invoke(main, ["tasks", "list"], env=env)
    assert result.exit_code == 2
    assert "torale login" in one_line_error(result)


def test_tasks_from_create_to_delete(torale, live_server):
    created = torale(
        *CREATE,
        "--schedule",
        "0 9 * * *",
        "--name",
        "iPhone date",
        "--webhook",
        live_server.hook_url,
        "--json",
    )
    task_id = json.loads(created.stdout)["id"]
    listed = torale("tasks", "list")
    header, row = listed.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "STATE", "SCHEDULE", "NEXT", "RUN"]
    assert row.startswith(task_id) and "iPhone date" in row and "active" in row
    assert json.loads(torale("tasks", "list", "--json").stdout)["total"] == 1
    assert [t["id"] for t in json.loads(torale("tasks", "list", "--all", "--json").stdout)] == [
        task_id
    ]
    assert (
        "schedule               0 8 * * *"
        in torale("tasks", "update", task_id, "--schedule", "0 8 * * *").stdout
    )
    assert "now paused" in torale("tasks", "pause", task_id).stdout
    assert "now active" in torale("tasks", "resume", task_id).stdout
    shown = torale("tasks", "show", task_id).stdout
    assert f"id                     {task_id}" in shown

    ran = torale("tasks", "run", task_id, "--wait").stdout
    assert "success, condition met: yes" in ran
    assert "Answer: Apple announced September 19." in ran
    assert "Sources:\n  - Apple Newsroom: https://www.apple.com/newsroom/iphone" in ran
    history = torale("tasks", "executions", task_id).stdout
    assert "success" in history and "Apple announced" in history
    assert "iPhone date" in torale("tasks", "notifications").stdout
    assert json.loads(torale("tasks", "notifications", task_id, "--json").stdout)["total"] == 1
    deliveries = json.loads(torale("webhooks", "deliveries", task_id, "--json").stdout)["items"]
    assert [d["target"] for d in deliveries] == [live_server.hook_url]
    assert live_server.hook_url in torale("webhooks", "deliveries", task_id).stdout
    assert "Redelivering" in torale("webhooks", "redeliver", deliveries[0]["id"]).stdout

    assert torale("tasks", "delete", task_id, "--yes").stdout.strip() == f"Deleted task {task_id}"
    missing = torale("tasks", "show", task_id, expect=1)
    assert one_line_error(missing) == "error: 404: Task not found"


def test_usage_mistakes_exit_2(torale):
    assert "nothing to change" in one_line_error(
        torale("tasks", "update", "3f1e1c1e-0000-4000-8000-000000000000", expect=2)
    )
    assert "Missing option '--query'" in torale("tasks", "create", expect=2).stderr
    refused = torale(*CREATE, "--schedule", "every day", expect=1)
    assert one_line_error(refused).startswith("error: 422: body.schedule")


def test_keys(torale, live_server):
    key = torale("keys", "create", "laptop").stdout.strip()
    assert key.startswith("sk_")
    listed = json.loads(torale("keys", "list", "--json").stdout)["items"]
    laptop = next(k for k in listed if k["name"] == "laptop")
    assert "laptop" in torale("keys", "list").stdout
    assert torale("whoami", key=key).exit_code == 0
    assert "revoked" in torale("keys", "revoke", laptop["id"]).stdout
    assert one_line_error(torale("whoami", key=key, expect=1)) == "error: 401: Invalid API key"


def test_webhook_secret_and_test_event(torale, live_server):
    secret = torale("webhooks", "secret").stdout.strip()
    assert secret.startswith("whsec_")
    assert torale("webhooks", "rotate").stdout.strip() not in ("", secret)
    assert torale("webhooks", "test", live_server.hook_url).stdout.startswith("Delivered: 204")


def test_admin(torale, live_server, admin_account, account):
    stats = torale("admin", "stats", key=admin_account.key).stdout
    assert "users: total 2" in stats
    assert account.email in torale("admin", "users", key=admin_account.key).stdout
    assert (
        json.loads(torale("admin", "schedules", "--json", key=admin_account.key).stdout)["page"]
        == 1
    )
    refused = torale("admin", "stats", expect=1)
    assert one_line_error(refused) == "error: 403: Admin access required"


def test_as_a_process(live_server, account, tmp_path):
    env = {
        **os.environ,
        "TORALE_API_URL": live_server.url,
        "TORALE_API_KEY": account.key,
        "TORALE_CONFIG": str(tmp_path / "none.json"),
    }
    command = [sys.executable, "-m", "torale"]
    missing = subprocess.run(
        [*command, "tasks", "show", "3f1e1c1e-0000-4000-8000-000000000000"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (missing.returncode, missing.stderr, missing.stdout) == (
        1,
        "error: 404: Task not found\n",
        "",
    )
