"""The task-execution workflow's activities: every database write and provider call.

One module per step, each an activity (`workers.execution_steps` holds what they share):

- `claim` (workers.execution_claim) creates (schedule runs) or claims (manual runs) the
  execution row, or says the task is busy or gone;
- `evaluate` (workers.execution_evaluate) marks the row running with its attempt number,
  loads the task, searches, asks the LLM and decides (nothing is written but the attempt);
- `persist` (workers.execution_record) writes the outcome to the execution and the task
  in one transaction (and completes a `once` task, deleting its schedule);
- `hand_off` (workers.execution_notify) gives a due notification to the fan-out;
- `mark_failed` (workers.execution_record) records the final failure, once the workflow
  has given up; `sweep_stale` fails runs whose workflow ended without a word.

Activity names (`execution_claim`, ...) are what workflow histories record: they stay.
"""

from __future__ import annotations

from typing import Any

from workers.execution_claim import ClaimStep
from workers.execution_evaluate import EvaluateStep
from workers.execution_notify import HandOffStep
from workers.execution_record import RecordSteps


class ExecutionActivities(ClaimStep, EvaluateStep, RecordSteps, HandOffStep):
    def activities(self) -> list[Any]:
        return [
            self.claim,
            self.evaluate,
            self.persist,
            self.hand_off,
            self.mark_failed,
            self.sweep_stale,
        ]
