"""A user in the browser: sign in, create a task (cron preview, inline errors), run it
against the local LLM and SearXNG, and follow the execution and its webhook live."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime

from playwright.async_api import Page, expect

from tests.dashboard.conftest import Live, screenshot_path
from tests.executions.execution_helpers import CHAT, evaluation, script_search
from tests.monitoring.monitoring_peer import Reply
from torale.scheduling.cron import next_run_times


async def sign_in(page: Page, live: Live, key: str) -> None:
    await page.goto(live.app_url)
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", level=1, name="Tasks")).to_be_visible()


async def create_in_the_form(page: Page, live: Live, search_query: str, condition: str) -> None:
    """A new account signs in and creates a task through the form, with its defaults."""
    _, key = await live.account()
    await sign_in(page, live, key)
    await page.get_by_role("link", name="New task").click()
    await page.get_by_label("Search query").fill(search_query)
    await page.get_by_label("Condition").fill(condition)
    await page.get_by_role("button", name="Create task").click()


async def test_a_wrong_key_is_refused_and_never_kept(live: Live, page: Page) -> None:
    _, key = await live.account()
    await page.goto(live.app_url)
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_label("API key").fill("sk_" + "x" * 32)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("Invalid API key")
    assert await page.evaluate("sessionStorage.length") == 0

    await sign_in(page, live, key)
    stored = json.loads(await page.evaluate("sessionStorage.getItem('torale.credential')"))
    assert stored == {"kind": "api_key", "token": key, "expires_at": None}
    assert await page.evaluate("localStorage.length + document.cookie.length") == 0
    await expect(page.get_by_text("No tasks yet")).to_be_visible()

    # Keyboard: a new page focuses its heading, so Tab goes on into the page's content;
    # the skip link (first in the document) jumps past the navigation.
    await expect(page.get_by_role("heading", level=1, name="Tasks")).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="New task")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1, name="New task")).to_be_focused()
    await page.locator(".skip").focus()
    await expect(page.locator(".skip")).to_be_in_viewport()
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "main"

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 0


async def test_create_run_and_follow_the_execution_and_its_delivery(live: Live, page: Page) -> None:
    script_search(live.searx)
    answer = evaluation(
        True,
        answer="Apple announced the release for September 19.",
        reasoning="The newsroom names the date.",
    )
    answer.delay = 2.5  # long enough to watch the execution run
    live.llm.script("POST", CHAT, answer)
    path = f"/dashboard-hook-{uuid.uuid4().hex[:6]}"  # the receiver serves every test
    hook = live.receiver.url(path)
    _, key = await live.account()
    await sign_in(page, live, key)

    await page.get_by_role("link", name="New task").click()
    await expect(page.get_by_role("heading", name="New task")).to_be_visible()
    await page.get_by_label("Search query").fill("When is the next iPhone being released?")
    await page.get_by_label("Condition").fill("Apple has announced a specific release date")
    await page.get_by_label("Time zone").fill("Europe/Paris")
    await page.get_by_label("Schedule (cron)").fill("30 9 * * 1-5")

    # The helper's next five runs are the server's own (torale.scheduling.cron).
    preview = page.locator("#cron-preview time")
    await expect(preview).to_have_count(5)
    await expect(page.locator("#cron-preview")).to_contain_text("Europe/Paris")
    shown = await preview.evaluate_all("els => els.map(e => e.getAttribute('datetime'))")
    expected = next_run_times("30 9 * * 1-5", "Europe/Paris", datetime.now(UTC), 5)
    assert shown == [t.strftime("%Y-%m-%dT%H:%M:00.000Z") for t in expected]

    # A schedule the server refuses: its message (GraphQL extensions) sits by the field.
    await page.get_by_label("Schedule (cron)").fill("61 * * * *")
    await expect(page.locator("#cron-preview")).to_contain_text("Minute must be 0-59")
    await page.get_by_role("button", name="Create task").click()
    schedule_error = page.locator('[data-error-for="schedule"]')
    await expect(schedule_error).to_have_text("Invalid cron expression")
    await expect(page.get_by_label("Schedule (cron)")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Schedule (cron)")).to_be_focused()

    await page.get_by_label("Schedule (cron)").fill("30 9 * * 1-5")
    await page.get_by_label("Notify").select_option("always")
    await page.get_by_role("button", name="Add channel").click()
    await page.get_by_label("Send to").fill(hook)
    await page.get_by_role("button", name="Create task").click()

    heading = page.get_by_role("heading", level=1, name="When is the next iPhone being released?")
    await expect(heading).to_be_visible()
    await expect(page.get_by_text("No executions yet.")).to_be_visible()

    # Run now: the page follows the execution by polling, without a reload.
    await page.get_by_role("button", name="Run now").click()
    in_flight = page.locator('.execution[data-status="running"], .execution[data-status="pending"]')
    await expect(in_flight).to_be_visible()
    # The list follows it too, refreshing its cells in place.
    await page.get_by_role("link", name="Tasks", exact=True).click()
    last_result = page.locator("tbody tr").first.locator('td[data-label="Last result"]')
    await expect(last_result).to_contain_text(re.compile("running|pending"))
    await expect(last_result).to_contain_text("condition met", timeout=30_000)
    await page.go_back()

    done = page.locator('.execution[data-status="success"]')
    await expect(done).to_be_visible(timeout=30_000)
    await expect(done).to_contain_text("Apple announced the release for September 19.")
    await expect(done).to_contain_text("condition met")
    await expect(done).to_contain_text("2 sources")
    await expect(done.locator(".change")).not_to_be_empty()

    delivered = page.locator('tr[data-status="succeeded"]')
    await expect(delivered).to_be_visible(timeout=20_000)
    await expect(delivered).to_contain_text("1 attempt")
    await expect(delivered).to_contain_text(hook)
    assert live.receiver.paths().count(path) == 1
    await expect(page.locator("section", has_text="Notifications")).to_contain_text(
        "Apple announced the release for September 19."
    )
    await page.locator("#toast").evaluate("toast => { toast.hidden = true }")  # transient
    await page.screenshot(path=screenshot_path("task-detail"), full_page=True)

    # Redeliver sends the same event again; the row follows it to a second success.
    await page.get_by_role("button", name=f"Redeliver to {hook}").click()
    await expect(page.locator('tr[data-status="succeeded"]')).to_contain_text(
        "2 attempts", timeout=20_000
    )
    assert live.receiver.paths().count(path) == 2

    # Pause and resume.
    await page.get_by_role("button", name="Pause").click()
    await expect(page.locator(".head-tags")).to_contain_text("paused")
    await page.get_by_role("button", name="Resume").click()
    await expect(page.locator(".head-tags")).to_contain_text("active")

    # Edit: the form comes back filled in; a change is saved and shown.
    await page.get_by_role("link", name="Edit").click()
    await expect(page.get_by_label("Search query")).to_have_value(
        "When is the next iPhone being released?"
    )
    await expect(page.get_by_label("Send to")).to_have_value(hook)
    await expect(page.locator("#cron-preview time")).to_have_count(5)
    await page.get_by_label("Name", exact=True).fill("iPhone release date")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("heading", level=1, name="iPhone release date")).to_be_visible()
    await page.get_by_role("button", name="Make public").click()
    await expect(page.locator(".head-tags")).to_contain_text("public")

    # The list shows state, next run and the last result.
    await page.get_by_role("link", name="Tasks", exact=True).click()
    row = page.locator("tbody tr").first
    await expect(row).to_contain_text("active")
    await expect(row).to_contain_text("condition met")
    await expect(row.locator("td[data-label='Next run'] time")).to_have_count(1)
    await page.get_by_label("State").select_option("paused")
    await expect(page.get_by_text("No task on this page matches")).to_have_count(0)
    await expect(page.locator("tbody tr")).to_have_count(0)


async def test_delete_asks_first(live: Live, page: Page) -> None:
    await create_in_the_form(
        page, live, "Has the river level dropped below 2 m?", "The gauge reads under 2 metres"
    )
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Has the river level dropped below 2 m?"
    )
    await page.get_by_role("button", name="Delete", exact=True).click()
    await page.get_by_role("button", name="Keep it").click()
    await expect(page.get_by_role("button", name="Delete for good")).to_be_hidden()
    await page.get_by_role("button", name="Delete", exact=True).click()
    await page.get_by_role("button", name="Delete for good").click()
    await expect(page.get_by_role("heading", level=1, name="Tasks")).to_be_visible()
    await expect(page.get_by_text("No tasks yet")).to_be_visible()


async def test_a_failed_run_shows_its_error(live: Live, page: Page) -> None:
    script_search(live.searx)
    live.llm.script("POST", CHAT, Reply(401, {"error": {"message": "bad key"}}))
    await create_in_the_form(
        page, live, "Is the new phone in stock anywhere?", "A shop lists it as in stock"
    )
    await page.get_by_role("button", name="Run now").click()
    failed = page.locator('.execution[data-status="failed"]')
    await expect(failed).to_be_visible(timeout=30_000)
    await expect(failed.locator(".alert.error")).to_contain_text("Error (")
    await expect(failed.locator(".alert.error")).to_contain_text("401")

    # On a phone the page still fits its width, the form too.
    await page.set_viewport_size({"width": 390, "height": 844})
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await page.screenshot(path=screenshot_path("phone-task"), full_page=True)
    await page.get_by_role("link", name="Edit").click()
    await expect(page.locator("#cron-preview time")).to_have_count(5)
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await page.screenshot(path=screenshot_path("phone-form"), full_page=True)
