"""`torale worker dramatiq`: the notification fan-out worker.

`dramatiq workers.dramatiq_worker` imports this module, which configures the Redis
broker from REDIS_URL (tuning from TORALE_DRAMATIQ_*; see torale.webhooks.queue) and
declares the `webhook.deliver` actor on it with the process's settings, along with the
outbox sweeper each worker process runs (torale.webhooks.sweeper).
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from torale.config import Settings, get_settings
from torale.observability import tracing
from torale.webhooks.queue import NAMESPACE, BrokerOptions, build_broker, install_actor

__all__ = ["NAMESPACE", "configure_broker"]


def configure_broker(settings: Settings, options: BrokerOptions | None = None) -> RedisBroker:
    assert settings.redis_url, "REDIS_URL must be set"
    broker = build_broker(settings.redis_url, options or BrokerOptions.from_settings(settings))
    dramatiq.set_broker(broker)
    # Retries and sweeps are enqueued on the same broker the worker consumes.
    install_actor(broker, settings)
    return broker


_settings = get_settings()
tracing.setup("torale-dramatiq-worker")
if _settings.redis_url:
    broker = configure_broker(_settings)
