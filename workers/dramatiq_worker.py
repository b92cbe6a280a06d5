"""`torale worker dramatiq`: the notification fan-out worker's broker.

`dramatiq workers.dramatiq_worker` imports this module; it configures the Redis
broker from REDIS_URL. The delivery actors are registered here as they are built
(issue: notification fan-out).
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from torale.config import get_settings

NAMESPACE = "torale-dramatiq"


def configure_broker(redis_url: str) -> RedisBroker:
    broker = RedisBroker(url=redis_url, namespace=NAMESPACE)
    dramatiq.set_broker(broker)
    return broker


_url = get_settings().redis_url
if _url:
    broker = configure_broker(_url)
