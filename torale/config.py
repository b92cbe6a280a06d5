"""Settings read from the environment.

Service locations use their conventional names (`DATABASE_URL`, `REDIS_URL`,
`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`); everything else is `TORALE_*`.
A location left unset means "use the embedded server of the data directory"
(see `torale.devstack`). Values that would make a deployment unsafe are refused
when the settings are built, with a message that names the variable.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from torale.provider_settings import ProviderSettings

TASK_QUEUE = "torale-tasks"


class Settings(ProviderSettings):
    """Every setting; the LLM/search/fetch provider fields come from ProviderSettings."""

    model_config = SettingsConfigDict(
        env_prefix="TORALE_", extra="ignore", frozen=True, populate_by_name=True
    )

    environment: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path(".torale")

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    temporal_address: str | None = Field(default=None, validation_alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(
        default="default",
        validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "TORALE_TEMPORAL_NAMESPACE"),
    )
    temporal_task_queue: str = TASK_QUEUE
    temporal_ui_url: str | None = None

    # Database pool: small by default, a 2-core box gains nothing from more.
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)

    # How often buffered API-key `last_used_at` stamps are written back.
    api_key_last_used_flush_seconds: float = Field(default=30.0, gt=0)
    # How long a credential's user stays cached in Redis (torale.auth.cache); 0 turns
    # the cache off. Changes through the API invalidate at once; this bounds the rest.
    auth_cache_seconds: int = Field(default=60, ge=0, le=3600)

    # Tasks may not fire more often than this (seconds).
    min_schedule_interval_seconds: int = Field(default=60, ge=1)

    # Executions surviving crashes (workers.execution_workflow): a worker killed
    # mid-activity is noticed after this long without a heartbeat and the attempt runs
    # on another worker; attempts of the search + LLM step; attempts of the steps that
    # only touch the database (1 s doubling to 30 s between them: 8 ride out about
    # 90 s of PostgreSQL being away) before the execution is recorded failed.
    execution_heartbeat_seconds: float = Field(default=20.0, ge=1, le=600)
    execution_max_attempts: int = Field(default=3, ge=1, le=20)
    execution_database_attempts: int = Field(default=8, ge=1, le=50)

    # Encrypts webhook signing secrets at rest (torale.secret_box). Required in
    # production; `torale` commands otherwise keep a generated one in the data dir.
    secret_key: SecretStr | None = None

    # Outbound HTTP to private/loopback addresses (webhooks, page fetches).
    allow_private_urls: bool = False

    # OIDC / JWT (issue 6): issuer or JWKS URL; unset disables JWT sign-in.
    jwt_issuer: str | None = None
    jwt_jwks_url: str | None = None
    jwt_audience: str | None = None

    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300)
    # The dashboard's OIDC sign-in (authorization code + PKCE, a public client): shown
    # when both the issuer and this client id are set.
    oidc_client_id: str | None = None
    oidc_scope: str = "openid email profile"
    # Where an identity provider's token says "admin" (dotted path and value).
    jwt_admin_claim: str = "public_metadata.role"
    jwt_admin_value: str = "admin"

    # Identity hardening (issue 11). The claim (dotted path) whose JSON `true` says the
    # token's email is verified: only then does sync-user link, create or re-address a
    # user by email. Anonymous `/graphql` calls are limited per client address.
    # Introspection: None means on, except in production.
    jwt_email_verified_claim: str = "email_verified"
    graphql_anonymous_rate_limits: str = "60/minute;600/hour"
    graphql_introspection: bool | None = None

    # How much work one `/graphql` request may ask for (torale.graphql.limits): nesting,
    # aliases, tokens parsed, estimated fields (lists times their page size, this when a
    # list has none) and operations per batch (0: no batching). Refusals are
    # QUERY_TOO_COMPLEX before any resolver runs; REST operations obey them too.
    graphql_max_depth: int = Field(default=10, ge=1, le=1000)
    graphql_max_aliases: int = Field(default=30, ge=0, le=100_000)
    graphql_max_tokens: int = Field(default=5000, ge=100, le=1_000_000)
    graphql_max_cost: int = Field(default=20000, ge=1, le=100_000_000)
    graphql_default_list_size: int = Field(default=20, ge=1, le=100_000)
    graphql_max_batch_operations: int = Field(default=10, ge=0, le=1000)
    # Larger request bodies are refused with 413 before anything reads them.
    max_request_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=1024**3)
    # Requests inside the app at once (torale.http.admission); the rest wait their turn
    # in arrival order; 0 turns the gate off. At or below the pool size, so requests
    # never wait for (or open and close) overflow connections; bench/README.md has the
    # measurements behind 8.
    max_concurrent_requests: int = Field(default=8, ge=0, le=10_000)

    # Rate limits (`limits` syntax), counted in Redis per API key / per JWT user.
    rate_limits: str = "100/minute;1000/hour;10000/day"
    api_key_creation_rate_limits: str = "10/hour"
    rate_limit_fail_closed: bool = False

    # Idempotency-Key on POST creates (torale.http.idempotency): how long a key's first
    # answer is replayed; how long a running request holds its key (a dead replica's
    # claim frees itself); how long a concurrent duplicate waits for the answer (then 409).
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    idempotency_lock_seconds: int = Field(default=60, ge=1, le=3600)
    idempotency_wait_seconds: float = Field(default=10.0, ge=0, le=60)

    # Notification delivery.
    webhook_timeout_seconds: float = Field(default=15.0, gt=0)
    # Seconds between attempts, e.g. "5s,5m,30m"; empty means the production default.
    webhook_retry_schedule: str = ""
    webhook_secret_grace_seconds: int = Field(default=24 * 3600, ge=0)
    # Dramatiq's Redis broker: key namespace; how long a silent worker's unacknowledged
    # messages wait before they are handed to another worker; maintenance frequency.
    dramatiq_namespace: str = "torale-dramatiq"
    dramatiq_heartbeat_timeout_ms: int = Field(default=60_000, ge=1_000)
    dramatiq_maintenance_chance: int = Field(default=1_000, ge=1, le=1_000_000)
    # Delivery outbox (issue 10): the delivery row is the source of truth. A message put
    # on the queue counts as live for `delivery_lease_seconds` after it is due; a due,
    # pending delivery whose lease ran out is re-enqueued by the sweeper that every
    # Dramatiq worker runs each `delivery_sweep_interval_seconds` (one pass at a time).
    delivery_sweep_interval_seconds: float = Field(default=15.0, gt=0, le=3600)
    delivery_lease_seconds: float = Field(default=30.0, gt=0, le=24 * 3600)
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_sender: str = "torale@localhost"
    smtp_tls: Literal["starttls", "ssl", "none"] = "starttls"

    # Public base URL of the API (links in emails); defaults to the request's.
    public_url: str | None = None

    cors_origins: list[str] = Field(default_factory=list)

    # Prometheus `/metrics` (torale.observability.metrics_http): on its own port (host,
    # default loopback), and/or on the API port behind `Authorization: Bearer <token>`.
    # Neither set: not served.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    metrics_token: SecretStr | None = None

    # Supervisor of `torale dev` (torale.devstack.supervisor): the JSON status file it
    # keeps (restart counts of its processes and embedded servers), shown by /ready.
    # `torale dev` sets it for its children; unset elsewhere.
    supervisor_status_file: Path | None = None

    # Logs of `torale api` and the workers (torale.log_setup): `text` lines or `json`
    # objects, one per line, on stderr. No access log by default: it costs every request
    # (see bench/README.md); 0.01 logs one request in a hundred, 1 logs them all, each as
    # one structured `torale.access` record (method, path, status, duration_ms).
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    access_log_sample: float = Field(default=0.0, ge=0.0, le=1.0)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("postgresql://", "postgres://", "postgresql+asyncpg://")):
            raise ValueError("DATABASE_URL must be a postgresql:// URL")
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("TORALE_SECRET_KEY must be at least 32 characters")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _long_metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("TORALE_METRICS_TOKEN must be at least 16 characters")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("REDIS_URL must be a redis://, rediss:// or unix:// URL")
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production_values(self) -> Settings:
        if self.environment != "production":
            return self
        if self.allow_private_urls:
            raise ValueError(
                "TORALE_ALLOW_PRIVATE_URLS=true is refused in production: it lets webhooks "
                "and page fetches reach internal addresses"
            )
        if "*" in self.cors_origins:
            raise ValueError("TORALE_CORS_ORIGINS='*' is refused in production")
        for name, url in (
            ("TORALE_JWT_ISSUER", self.jwt_issuer),
            ("TORALE_JWT_JWKS_URL", self.jwt_jwks_url),
        ):
            if url and not url.startswith("https://"):
                raise ValueError(f"{name} must be an https:// URL in production")
        if self.secret_key is None:
            raise ValueError(
                "TORALE_SECRET_KEY must be set in production (at least 32 characters): "
                "it encrypts webhook signing secrets at rest"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
