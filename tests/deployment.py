"""How infra/Dockerfile runs the processes, for tests that start them the same way."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

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
