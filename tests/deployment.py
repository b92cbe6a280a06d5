"""How infra/Dockerfile runs the processes, for tests that start them the same way."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

DOCKERFILE = Path(__file__).resolve().parent.parent / "infra" / "Dockerfile"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(KEYWORD, rest) for each instruction, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def image_command() -> list[str]:
    """The image's CMD: how it starts the API."""
    cmds = [rest for keyword, rest in dockerfile_instructions() if keyword == "CMD"]
    return json.loads(cmds[-1])


def deployed_api_argv() -> list[str]:
    """`python [options] -m torale api` as the image runs it, with this interpreter: the
    image's CMD up to its own host and port options, which the caller adds."""
    command = image_command()
    assert command[0] == "python", command
    return [sys.executable, *command[1 : command.index("api") + 1]]


@contextmanager
def deployed_api(env: dict[str, str], data_dir: Path) -> Iterator[str]:
    """`torale api` started as the image starts it, on a free loopback port, until the
    block ends; yields its base URL once `/health` answers. Its output goes to
    `data_dir/api.log`."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = [*deployed_api_argv(), "--host", "127.0.0.1", "--port", str(port)]
    with (data_dir / "api.log").open("w") as log:
        server = subprocess.Popen(
            [*argv, "--data-dir", str(data_dir)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, server)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_healthy(base_url: str, server: subprocess.Popen, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the API exited with {server.returncode}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the API did not answer within {within:g}s")
