"""The README's "Python client" and "Command line" examples, run as written against the
API served on an ephemeral port."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from torale.cli import main
from torale.client import Torale

README = Path(__file__).resolve().parents[2] / "README.md"
DOCUMENTED_URL = "http://127.0.0.1:8000"


def section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def blocks(title: str, language: str) -> list[str]:
    found = re.findall(rf"```{language}\n(.*?)```", section(title), flags=re.DOTALL)
    assert found, f"no {language} example in the README's {title!r} section"
    return found


def test_python_client_examples(live_server, account, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TORALE_CONFIG", str(tmp_path / "config.json"))
    monkeypatch.setenv("TORALE_API_KEY", account.key)
    monkeypatch.setenv("TORALE_API_URL", live_server.url)
    usage, receiver = blocks("Python client", "python")

    exec(compile(usage, "README.md: Python client", "exec"), {})
    printed = capsys.readouterr().out
    assert "success Apple announced September 19." in printed
    assert " - Apple Newsroom https://www.apple.com/newsroom/iphone" in printed
    assert "\nschedule " in printed
    assert "404 Task not found" in printed

    namespace: dict = {}
    exec(compile(receiver, "README.md: webhook receiver", "exec"), namespace)
    with Torale(api_key=account.key, base_url=live_server.url) as client:
        monkeypatch.setenv("TORALE_WEBHOOK_SECRETS", client.webhooks.secret().secret)
        before = len(live_server.peer.requests_to("/hook"))
        client.webhooks.test(live_server.hook_url)
    [request] = live_server.peer.requests_to("/hook")[before:]
    assert namespace["on_webhook"](request.body, request.headers) == "200 test"
    assert namespace["on_webhook"](b"{}", request.headers) == "400 not from Torale"


def test_command_line_examples(live_server, account, tmp_path):
    [script] = blocks("Command line", "bash")
    env = {
        "TORALE_CONFIG": str(tmp_path / "config.json"),
        "TORALE_API_KEY": None,
        "TORALE_API_URL": None,
    }
    variables: dict[str, str] = {}
    runner = CliRunner()
    outputs = []
    for line in script.replace("\\\n", " ").splitlines():
        assignment = re.fullmatch(r"(\w+)=\$\((.*)\)", line.strip())
        words = shlex.split(assignment.group(2) if assignment else line, comments=True)
        if not words:
            continue
        assert words[0] == "torale", line
        words = [w.replace(DOCUMENTED_URL, live_server.url) for w in words[1:]]
        for name, value in variables.items():
            words = [w.replace(f"${name}", value) for w in words]
        result = runner.invoke(main, words, env=env, input=f"{account.key}\n")
        assert result.exit_code == 0, (line, result.output, result.stderr)
        if assignment:
            variables[assignment.group(1)] = result.stdout.strip()
        outputs.append(result.stdout)
    text = "\n".join(outputs)
    assert account.email in text
    assert "Answer: Apple announced September 19." in text
    assert f"Deleted task {variables['TASK']}" in text
