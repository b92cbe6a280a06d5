from __future__ import annotations

import random

import pytest

from torale.config import Settings
from torale.webhooks.delivery import retry_schedule
from torale.webhooks.retry import DEFAULT_DELAYS, DEFAULT_SCHEDULE, RetrySchedule, parse_delays

# What the delivery worker uses when TORALE_WEBHOOK_RETRY_SCHEDULE is left empty.
PRODUCTION = retry_schedule(Settings(webhook_retry_schedule=""))


def test_production_default_follows_standard_webhooks() -> None:
    assert DEFAULT_DELAYS == (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
    assert PRODUCTION is DEFAULT_SCHEDULE
    assert 2.5 * 86400 < sum(DEFAULT_DELAYS) < 3.5 * 86400


@pytest.mark.parametrize("attempt", range(1, 10))
def test_each_delay_stays_within_the_jitter_bounds(attempt: int) -> None:
    base = DEFAULT_DELAYS[attempt - 1]
    rng = random.Random(attempt)
    samples = [PRODUCTION.next_delay(attempt, rng=rng) for _ in range(200)]
    assert all(s is not None and base * 0.9 <= s <= base * 1.1 for s in samples)


def test_jitter_spreads_retries() -> None:
    rng = random.Random(7)
    samples = {PRODUCTION.next_delay(1, rng=rng) for _ in range(50)}
    assert len(samples) > 40
    assert min(samples) < 5 < max(samples)


def test_zero_jitter_is_exact() -> None:
    schedule = RetrySchedule(delays=(1, 2, 5), jitter=0)
    assert [schedule.next_delay(n) for n in (1, 2, 3, 4)] == [1, 2, 5, None]


def test_exhausted_schedule_returns_none() -> None:
    # Nine retries: ten attempts in all.
    assert PRODUCTION.next_delay(9) is not None
    assert PRODUCTION.next_delay(10) is None
    assert RetrySchedule(delays=()).next_delay(1) is None


def test_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        PRODUCTION.next_delay(0)


def test_retry_after_lengthens_but_never_shortens() -> None:
    schedule = RetrySchedule(delays=(5, 300), jitter=0)
    assert schedule.next_delay(1, retry_after=120) == 120
    assert schedule.next_delay(2, retry_after=10) == 300
    assert schedule.next_delay(1, retry_after=0) == 5


def test_retry_after_is_capped() -> None:
    schedule = RetrySchedule(delays=(5,), jitter=0, max_retry_after=3600)
    assert schedule.next_delay(1, retry_after=10**9) == 3600
    assert DEFAULT_SCHEDULE.next_delay(1, retry_after=10**9) == 86400


def test_retry_after_does_not_revive_an_exhausted_schedule() -> None:
    assert RetrySchedule(delays=(1,)).next_delay(2, retry_after=60) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,2,5", (1, 2, 5)),
        (" 5s, 5m ,30m,2h,1d ", (5, 300, 1800, 7200, 86400)),
        ("0.5,1.5", (0.5, 1.5)),
        ("", ()),
    ],
)
def test_parse_delays(text: str, expected: tuple[float, ...]) -> None:
    assert parse_delays(text) == expected
    assert RetrySchedule.from_string(text, jitter=0).delays == expected


@pytest.mark.parametrize("text", ["abc", "1,,2", "-5", "5w", "1;2"])
def test_parse_delays_rejects_garbage_clearly(text: str) -> None:
    with pytest.raises(ValueError, match="Invalid retry delay"):
        parse_delays(text)


def test_configured_schedule_is_the_one_deliveries_use() -> None:
    schedule = retry_schedule(Settings(webhook_retry_schedule="1s,2m"))
    assert schedule.delays == (1, 120)
    assert schedule.next_delay(3) is None


def test_invalid_schedule_settings() -> None:
    with pytest.raises(ValueError, match="negative"):
        RetrySchedule(delays=(-1,))
    with pytest.raises(ValueError, match="jitter"):
        RetrySchedule(jitter=1.5)
