"""Settings come from the environment; unsafe values stop the process with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from torale.config import Settings


def test_service_locations_use_their_conventional_names(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db:5432/torale")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "prod")
    monkeypatch.setenv("TORALE_MIN_SCHEDULE_INTERVAL_SECONDS", "300")
    settings = Settings()
    assert settings.database_url == "postgresql://u@db:5432/torale"
    assert settings.redis_url == "redis://cache:6379/0"
    assert (settings.temporal_address, settings.temporal_namespace) == ("temporal:7233", "prod")
    assert settings.min_schedule_interval_seconds == 300


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TORALE_ALLOW_PRIVATE_URLS": "true"}, "TORALE_ALLOW_PRIVATE_URLS"),
        ({"TORALE_CORS_ORIGINS": '["*"]'}, "TORALE_CORS_ORIGINS"),
        ({"TORALE_JWT_ISSUER": "http://issuer.example"}, "TORALE_JWT_ISSUER"),
        ({}, "TORALE_SECRET_KEY must be set in production"),
    ],
)
def test_unsafe_production_values_are_refused(monkeypatch, env, message):
    monkeypatch.setenv("TORALE_ENVIRONMENT", "production")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=message):
        Settings()


def test_production_starts_with_a_secret_key_and_safe_values(monkeypatch):
    monkeypatch.setenv("TORALE_ENVIRONMENT", "production")
    monkeypatch.setenv("TORALE_SECRET_KEY", "k" * 32)
    assert Settings().secret_key.get_secret_value() == "k" * 32


def test_a_short_secret_key_is_refused(monkeypatch):
    monkeypatch.setenv("TORALE_SECRET_KEY", "too-short")
    with pytest.raises(ValidationError, match="TORALE_SECRET_KEY must be at least 32 characters"):
        Settings()


def test_the_same_values_are_fine_in_development(monkeypatch):
    monkeypatch.setenv("TORALE_ALLOW_PRIVATE_URLS", "true")
    assert Settings().allow_private_urls is True


def test_a_non_postgres_database_url_is_refused(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://root@localhost/x")
    with pytest.raises(ValidationError, match="postgresql"):
        Settings()


def test_the_cli_reports_unsafe_configuration_in_one_line(tmp_path):
    env = dict(os.environ, TORALE_ENVIRONMENT="production", TORALE_ALLOW_PRIVATE_URLS="true")
    result = subprocess.run(
        [sys.executable, "-m", "torale", "migrate", "--data-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "TORALE_ALLOW_PRIVATE_URLS" in line
