"""How failures are worded and typed for the execution row and for Temporal's retries."""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.enums.v1 import RetryState
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError, TimeoutType

from torale.errors import NotFound, Unavailable
from torale.monitoring.errors import ProviderAuthError, ProviderRateLimited, ProviderUnavailable
from workers.execution_steps import application_error
from workers.execution_workflow import describe_failure


def _activity_error(cause: BaseException) -> ActivityError:
    error = ActivityError(
        "Activity task failed",
        scheduled_event_id=1,
        started_event_id=2,
        identity="worker",
        activity_type="execution_evaluate",
        activity_id="1",
        retry_state=RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED,
    )
    error.__cause__ = cause
    return error


def test_provider_errors_keep_message_type_and_retryability() -> None:
    auth = application_error(ProviderAuthError("LLM answered HTTP 401: bad key"))
    assert auth.message == "LLM answered HTTP 401: bad key"
    assert auth.type == "provider_auth" and auth.non_retryable
    outage = application_error(ProviderUnavailable("LLM answered HTTP 503"))
    assert outage.type == "provider_unavailable" and not outage.non_retryable
    assert outage.next_retry_delay is None


def test_retry_after_becomes_the_next_retry_delay_capped() -> None:
    limited = ProviderRateLimited("HTTP 429", retry_after=7)
    assert application_error(limited, max_delay=30).next_retry_delay == timedelta(seconds=7)
    patient = ProviderRateLimited("HTTP 429", retry_after=3600)
    assert application_error(patient, max_delay=30).next_retry_delay == timedelta(seconds=30)


def test_other_domain_errors_retry_only_when_a_dependency_is_down() -> None:
    down = application_error(Unavailable("Scheduler unavailable, nothing was changed"))
    assert down.type == "unavailable" and not down.non_retryable
    missing = application_error(NotFound("Task not found"))
    assert missing.type == "not_found" and missing.non_retryable


def test_failure_descriptions() -> None:
    typed = _activity_error(ApplicationError("LLM answered HTTP 401", type="provider_auth"))
    assert describe_failure(typed) == ("LLM answered HTTP 401", "provider_auth")
    bug = _activity_error(ApplicationError("'answer'", type="KeyError"))
    assert describe_failure(bug) == ("Internal error (KeyError): 'answer'", "internal_error")
    timeout = _activity_error(
        TimeoutError(
            "activity Heartbeat timeout", type=TimeoutType.HEARTBEAT, last_heartbeat_details=[]
        )
    )
    message, kind = describe_failure(timeout)
    assert kind == "timeout" and "timed out (heartbeat)" in message
