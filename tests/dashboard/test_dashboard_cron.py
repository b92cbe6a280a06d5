"""The form's cron helper (js/cron.js) against the server's own next-run rules
(torale.scheduling.cron), in the browser: AND of day fields, names, steps, DST gaps
and repeats, rare dates."""

from __future__ import annotations

from datetime import datetime

from playwright.async_api import Page

from tests.dashboard.conftest import Live
from torale.scheduling.cron import check_cron, next_run_times

CASES = [
    ("30 9 * * 1-5", "Europe/Paris", "2026-03-27T00:00:00+00:00"),
    ("30 2 * * *", "Europe/Berlin", "2026-03-27T00:00:00+00:00"),  # spring gap
    ("15 2,3 * * *", "Europe/London", "2026-10-24T00:00:00+00:00"),  # autumn repeat
    ("0 0 13 * 5", "UTC", "2026-01-01T00:00:00+00:00"),  # Friday the 13th: both
    ("*/15 1-3 * jan,jul sun", "America/New_York", "2026-01-01T00:00:00+00:00"),
    ("30 0 * * 1", "America/Santiago", "2026-09-01T00:00:00+00:00"),  # midnight DST
    ("0 0 * * 7", "Australia/Lord_Howe", "2026-04-01T00:00:00+00:00"),  # 30-minute DST
    ("0 9 29 2 *", "Asia/Kolkata", "2026-01-01T00:00:00+00:00"),
    ("59 23 31 12 *", "Pacific/Kiritimati", "2026-10-24T00:00:00+00:00"),
]


async def test_next_runs_match_the_server(live: Live, page: Page) -> None:
    await page.goto(live.app_url)
    shown = await page.evaluate(
        """async (cases) => {
            const { nextRuns } = await import("./js/cron.js");
            return cases.map(([cron, zone, after]) =>
                nextRuns(cron, zone, 5, new Date(after)).map((d) => d.toISOString()));
        }""",
        CASES,
    )
    for (cron, zone, after), times in zip(CASES, shown, strict=True):
        expected = next_run_times(cron, zone, datetime.fromisoformat(after), 5)
        assert times == [t.strftime("%Y-%m-%dT%H:%M:00.000Z") for t in expected], (cron, zone)


async def test_unreadable_expressions_say_why(live: Live, page: Page) -> None:
    """Every expression the helper refuses is one the server refuses too."""
    cases = {
        "0 9 * *": "A schedule has 5 fields: minute hour day-of-month month day-of-week",
        "0 24 * * *": "Hour must be 0-23",
        "0 9 * * mon-sun": "Day of week must be 0-7 in ascending ranges",
        "0 9 * foo *": 'Unknown month name "foo"',
        "0 9 * * 1/0": "A step must be at least 1 in the day of week field",
    }
    await page.goto(live.app_url)
    messages = await page.evaluate(
        """async (crons) => {
            const { nextRuns } = await import("./js/cron.js");
            return crons.map((cron) => {
                try { nextRuns(cron, "UTC", 5); return null; } catch (e) { return e.message; }
            });
        }""",
        list(cases),
    )
    assert messages == list(cases.values())
    for cron in cases:
        try:
            check_cron(cron)
        except ValueError:
            continue
        raise AssertionError(f"the server accepts {cron!r}")
