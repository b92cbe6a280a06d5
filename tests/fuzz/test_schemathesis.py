"""Schemathesis against the live API: every REST operation and every GraphQL root field.

The API runs as its own process on a real socket (`live_api`), and Schemathesis' own
command line fuzzes it, authenticated with a real admin API key so admin routes are
exercised too. Generation is deterministic (fixed seed) and bounded (`MAX_EXAMPLES`
per operation and phase) so each run takes about a minute on two cores. Every URL a
case carries is pointed at a local peer first (`loopback_hooks.before_call`), so
nothing leaves the machine. REST runs every Schemathesis check: the documented status
codes, headers and response schemas, schema-invalid data refused, schema-valid data
accepted, 405s with `Allow`, authentication, and ours, `torale_no_server_error` (no
5xx, and no masked internal error in a GraphQL answer), which is all GraphQL runs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fuzz.live_api import HOOK_URL_VARIABLE, OWN_KEY_VARIABLE, LiveApi, live_api

SEED = 20261130
# REST runs every Schemathesis check (status and response conformance, negative data
# refused, positive data accepted, 405s and Allow, auth ...) plus ours; GraphQL answers
# domain errors with 200, which the built-in checks would read as failures, so it
# keeps the server-error property only.
CHECKS = {"/openapi.json": "all", "/graphql": "torale_no_server_error"}
# Bounded for CI: the coverage phase alone writes hundreds of boundary cases per
# operation whatever `--max-examples` says (over ten minutes here), so REST runs the
# fuzzing phase, in both positive and negative mode, a few cases per operation.
PHASES = {"/openapi.json": "examples,fuzzing", "/graphql": "fuzzing"}
MAX_EXAMPLES = {"/openapi.json": 6, "/graphql": 50}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def api(settings, tmp_path_factory) -> Iterator[LiveApi]:
    with live_api(settings, Path(tmp_path_factory.mktemp("fuzz-api"))) as running:
        yield running


def run_schemathesis(api: LiveApi, location: str, report_dir: Path) -> dict:
    key = api.admin_key()
    headers = {"Authorization": f"Bearer {key}"}
    own_keys = httpx.get(f"{api.base_url}/auth/api-keys", headers=headers).json()["items"]
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{api.base_url}{location}",
        "--header",
        f"Authorization: Bearer {key}",
        "--checks",
        CHECKS[location],
        "--phases",
        PHASES[location],
        "--max-examples",
        str(MAX_EXAMPLES[location]),
        # No NUL in generated strings: PostgreSQL cannot store it, so the API refuses it
        # in any string (422, documented in the API description); JSON Schema cannot
        # say "no NUL" for every string nested in `config` without a pattern on each.
        "--generation-allow-x00",
        "false",
        "--seed",
        str(SEED),
        "--workers",
        "2",
        "--continue-on-failure",
        "--suppress-health-check",
        "all",
        "--report",
        "json",
        "--report-dir",
        str(report_dir),
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.fuzz.loopback_hooks",
        "PYTHONPATH": str(REPO),
        HOOK_URL_VARIABLE: api.hook_url,
        OWN_KEY_VARIABLE: own_keys[0]["id"],
    }
    done = subprocess.run(
        command, cwd=report_dir, env=env, capture_output=True, text=True, timeout=480, check=False
    )
    (report_dir / "schemathesis.out").write_text(done.stdout + done.stderr)
    summary = re.findall(r"^\s*(\d+ generated.*)$", done.stdout, re.MULTILINE)
    print(f"schemathesis {location}: {summary[-1] if summary else '(no summary)'}")
    [report] = report_dir.glob("*.json")
    result = json.loads(report.read_text())
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    # The key still works: the fuzzer revoked nothing it needed, so its cases were authenticated.
    assert httpx.get(f"{api.base_url}/auth/me", headers=headers).status_code == 200
    return result


@pytest.mark.timeout(600)
def test_rest_operations_keep_the_documented_contract(api: LiveApi, tmp_path: Path) -> None:
    report = run_schemathesis(api, "/openapi.json", tmp_path)
    assert not report["failures"]


@pytest.mark.timeout(600)
def test_graphql_fields_never_fail_on_the_server(api: LiveApi, tmp_path: Path) -> None:
    report = run_schemathesis(api, "/graphql", tmp_path)
    assert not report["failures"]
