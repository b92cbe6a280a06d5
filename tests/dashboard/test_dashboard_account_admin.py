"""Account (API keys, webhook secret), the public tasks browser with fork, the admin
pages (users, live Temporal schedules) and the phone layout, in the browser."""

from __future__ import annotations

import uuid

import httpx
from playwright.async_api import Page, expect

from tests.dashboard.conftest import Live, screenshot_path
from tests.dashboard.test_dashboard_tasks import sign_in
from tests.helpers import task_body


async def create_task(live: Live, key: str, **overrides) -> dict:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        response = await http.post(
            "/api/v1/tasks",
            json=task_body(**overrides),
            headers={"Authorization": f"Bearer {key}"},
        )
    assert response.status_code == 201, response.text
    return response.json()


async def me_with(live: Live, key: str) -> int:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        response = await http.post(
            "/graphql",
            json={"query": "{ me { id } }"},
            headers={"Authorization": f"Bearer {key}"},
        )
    return 200 if "errors" not in response.json() else 401


async def test_api_keys_and_webhook_secret(live: Live, page: Page) -> None:
    _, key = await live.account()
    await sign_in(page, live, key)
    await page.get_by_role("link", name="Account").click()
    await expect(page.get_by_role("heading", level=1, name="Account")).to_be_visible()

    # A new key is shown once, works, and can be revoked.
    await page.get_by_label("New key name").fill("ci laptop")
    await page.get_by_role("button", name="Create key").click()
    new_key = await page.locator("[data-new-key]").text_content()
    assert new_key and new_key.startswith("sk_") and len(new_key) == 35
    assert await me_with(live, new_key) == 200
    row = page.locator("tr", has_text="ci laptop")
    await expect(row).to_contain_text(new_key[-5:])
    await expect(row).not_to_contain_text(new_key)
    await page.get_by_role("button", name="Revoke key ci laptop").click()
    await expect(row).to_contain_text("revoked")
    assert await me_with(live, new_key) == 401

    # The webhook secret: masked until shown; a rotation keeps the old one for a while.
    secret = page.locator("[data-secret]")
    await expect(secret).not_to_contain_text("whsec_A")
    await page.get_by_role("button", name="Show").click()
    first = await secret.text_content()
    assert first and first.startswith("whsec_") and "•" not in first
    await page.get_by_role("button", name="Rotate secret").click()
    await page.get_by_role("button", name="Rotate now").click()
    await expect(page.get_by_text("Old secret signs until")).to_be_visible()
    await page.get_by_role("button", name="Show").click()
    await expect(secret).not_to_have_text(first)

    # Test delivery to the local receiver.
    await page.get_by_label("Send a test event to").fill(live.receiver.url("/account-test"))
    await page.get_by_role("button", name="Send test").click()
    await expect(page.get_by_text("Delivered (HTTP 200)")).to_be_visible()
    await page.screenshot(path=screenshot_path("account"), full_page=True)

    # Revoking the key this tab signed in with ends the session at its next request.
    await page.get_by_role("button", name="Revoke key browser").click()
    await expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    await expect(page.locator("#toast")).to_contain_text("sign in again")
    assert await page.evaluate("sessionStorage.length") == 0


async def test_public_tasks_can_be_found_and_forked(live: Live, page: Page) -> None:
    _, owner_key = await live.account()
    marker = uuid.uuid4().hex[:8]
    shared = await create_task(live, owner_key, name=f"Shared watch {marker}", is_public=True)
    _, key = await live.account()
    await sign_in(page, live, key)

    await page.get_by_role("link", name="Public tasks").click()
    await page.get_by_label("Search").fill(marker)
    await page.get_by_role("button", name="Search").click()
    item = page.locator(f'li[data-task-id="{shared["id"]}"]')
    await expect(item).to_contain_text(f"Shared watch {marker}")
    await expect(page.locator(".public-list > li")).to_have_count(1)

    # Someone else's public task: its settings, no history, no owner's actions.
    await item.get_by_role("link", name=f"Shared watch {marker}").click()
    await expect(page.get_by_text("History is shown to the task's owner only.")).to_be_visible()
    await expect(page.get_by_text("only the owner sees them")).to_be_visible()
    await expect(page.get_by_role("button", name="Run now")).to_have_count(0)
    await expect(page.get_by_role("button", name="Delete", exact=True)).to_have_count(0)
    await page.go_back()
    await item.get_by_role("button", name=f"Fork Shared watch {marker}").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Shared watch {marker} (Copy)")
    await expect(page.locator(".head-tags")).to_contain_text("paused")
    await expect(page.get_by_role("link", name="the original task")).to_be_visible()


async def test_admin_sees_live_schedules_and_deactivates_a_user(live: Live, page: Page) -> None:
    user, user_key = await live.account(email=f"watcher-{uuid.uuid4().hex[:6]}@example.com")
    task = await create_task(live, user_key, schedule="15 7 * * *", timezone="Asia/Tokyo")
    _, admin_key = await live.account(admin=True)
    await sign_in(page, live, admin_key)

    await page.get_by_role("link", name="Admin").click()
    await expect(page.get_by_role("heading", level=1, name="Admin · Stats")).to_be_visible()
    await expect(page.locator(".figure", has_text="Tasks")).to_contain_text("Active1")

    await page.get_by_role("link", name="Errors").click()
    await expect(page.get_by_role("heading", level=1, name="Admin · Errors")).to_be_visible()
    await expect(page.get_by_text("No failed executions in the last 24 hours.")).to_be_visible()

    await page.get_by_role("link", name="Temporal").click()
    schedule = page.locator(f'tr[data-schedule-id="task-{task["id"]}"]')
    await expect(schedule).to_contain_text(user.email)
    await expect(schedule).to_contain_text("15 7 * * *")
    await expect(schedule).to_contain_text("Asia/Tokyo")
    await expect(schedule).to_contain_text("active")
    link = schedule.get_by_role("link", name=f"task-{task['id']}")
    href = await link.get_attribute("href")
    assert href and href.startswith("http://temporal-ui.test/") and task["id"] in href
    await page.screenshot(path=screenshot_path("admin-temporal"), full_page=True)

    await page.get_by_role("link", name="Users").click()
    row = page.locator(f'tr[data-email="{user.email}"]')
    await row.get_by_role("button", name=f"Deactivate {user.email}").click()
    await expect(row).to_contain_text("deactivated")
    assert await me_with(live, user_key) == 401
    await row.get_by_role("button", name=f"Activate {user.email}").click()
    await expect(row).to_contain_text("active")

    # Readable on a phone: no sideways scrolling, tables become labelled cards.
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.get_by_role("link", name="Temporal").click()
    await expect(schedule).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert (
        await schedule.locator("td").first.evaluate(
            "td => getComputedStyle(td, '::before').content"
        )
        == '"Schedule"'
    )
    await page.screenshot(path=screenshot_path("phone"), full_page=True)
