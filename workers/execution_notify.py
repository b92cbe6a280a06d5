"""`hand_off`: give a due notification to the fan-out (torale.webhooks.fanout)."""

from __future__ import annotations

import uuid

from temporalio import activity

from torale.webhooks.fanout import notify_condition_met
from workers.execution_steps import ExecutionSteps, HandOffInput


class HandOffStep(ExecutionSteps):
    @activity.defn(name="execution_hand_off")
    async def hand_off(self, input: HandOffInput) -> str:
        await notify_condition_met(
            self._sessions,
            uuid.UUID(input.execution_id),
            enqueue=self._deliveries,
            lease_seconds=self._settings.delivery_lease_seconds,
        )
        return "handed off"
