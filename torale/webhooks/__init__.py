"""Webhook signing, delivery of one attempt, and the retry schedule.

For receivers, `torale.webhooks.verify(body, headers, secret)` (with `ConditionMetEvent`,
`TestEvent` and `WebhookVerificationError`) is the client's `torale.client.webhooks`,
loaded only when one of those names is used: the server's delivery modules in this
package never import client code.
"""

from __future__ import annotations

from typing import Any

_RECEIVER_NAMES = frozenset(
    {"verify", "ConditionMetEvent", "TestEvent", "Event", "WebhookVerificationError"}
)


def __getattr__(name: str) -> Any:
    if name in _RECEIVER_NAMES:
        from torale.client import webhooks

        return getattr(webhooks, name)
    raise AttributeError(f"module 'torale.webhooks' has no attribute {name!r}")
