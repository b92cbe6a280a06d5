"""Where the client finds its API key and URL.

In order: arguments, then `TORALE_API_KEY` / `TORALE_API_URL`, then the file that
`torale login` writes (`$TORALE_CONFIG`, else `$XDG_CONFIG_HOME/torale/config.json`, else
`~/.config/torale/config.json`), then the default URL of a local `torale dev`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from torale.client.errors import ConfigurationError

DEFAULT_API_URL = "http://127.0.0.1:8000"
API_KEY_VARIABLE = "TORALE_API_KEY"
API_URL_VARIABLE = "TORALE_API_URL"
CONFIG_VARIABLE = "TORALE_CONFIG"


@dataclass(frozen=True)
class ClientConfig:
    api_key: str | None
    api_url: str


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get(CONFIG_VARIABLE):
        return Path(env[CONFIG_VARIABLE]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "torale" / "config.json"


def read_config_file(path: Path) -> dict[str, str]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise ConfigurationError(f"{path} is not valid JSON; run `torale login` again") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path} must hold a JSON object")
    return {k: v for k, v in data.items() if isinstance(v, str)}


def write_config_file(path: Path, api_key: str, api_url: str) -> None:
    """Saved readable by the owner only (0600): it holds a credential."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"api_key": api_key, "api_url": api_url}, handle, indent=2)
        handle.write("\n")
    os.chmod(path, 0o600)  # also when the file existed with wider permissions


def resolve(
    api_key: str | None = None,
    api_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ClientConfig:
    env = os.environ if environ is None else environ
    key = api_key or env.get(API_KEY_VARIABLE) or None
    url = api_url or env.get(API_URL_VARIABLE) or None
    if key is None or url is None:
        saved = read_config_file(config_path(env))
        key = key or saved.get("api_key")
        url = url or saved.get("api_url")
    url = (url or DEFAULT_API_URL).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"API URL must start with http:// or https://, got {url!r}")
    return ClientConfig(api_key=key, api_url=url)
