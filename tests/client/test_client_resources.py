"""The Python client against the real API over HTTP: every resource, both clients."""

from __future__ import annotations

import uuid

import pytest

from torale.client import (
    AsyncTorale,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    Torale,
    ValidationError,
    webhooks,
)
from torale.client.models import Execution, Page, Task

QUERY = "When is the next iPhone being released?"
CONDITION = "Apple has announced a specific release date"


def new_task(client: Torale, **fields) -> Task:
    body = {"search_query": QUERY, "condition_description": CONDITION, "schedule": "0 9 * * *"}
    return client.tasks.create(**{**body, **fields})


@pytest.fixture
def client(live_server, account):
    with Torale(api_key=account.key, base_url=live_server.url, max_retries=0) as torale:
        yield torale


def test_tasks_lifecycle(client):
    task = new_task(client, name="iPhone", timezone="Europe/Paris")
    assert isinstance(task, Task) and task.state == "active" and task.timezone == "Europe/Paris"
    assert client.tasks.get(task.id) == client.tasks.get(str(task.id)).model_copy()
    updated = client.tasks.update(task.id, schedule="0 8 * * *", name="renamed")
    assert (updated.schedule, updated.name) == ("0 8 * * *", "renamed")
    assert client.tasks.pause(task.id).state == "paused"
    assert client.tasks.resume(task.id).state == "active"
    listed = client.tasks.list(state="active")
    assert isinstance(listed, Page) and [t.id for t in listed.items] == [task.id]
    assert client.tasks.list(state="paused").total == 0
    client.tasks.delete(task.id)
    with pytest.raises(NotFoundError, match="Task not found"):
        client.tasks.get(task.id)


def test_iter_walks_every_page(client):
    created = {new_task(client).id for _ in range(3)}
    assert {t.id for t in client.tasks.iter(state="active")} == created
    # Small pages, to see the iterator cross them.
    pages = [client.tasks.list(page=p, limit=2) for p in (1, 2)]
    assert [len(p.items) for p in pages] == [2, 1] and pages[0].total == 3


def test_errors_are_typed(client, live_server):
    with pytest.raises(ValidationError) as invalid:
        new_task(client, schedule="not a cron")
    assert invalid.value.status_code == 422
    assert [e.field for e in invalid.value.errors] == ["schedule"]
    task = new_task(client)
    client.tasks.update(task.id, state="completed")
    with pytest.raises(ConflictError):
        client.tasks.pause(task.id)
    stranger = Torale(api_key="sk_" + "x" * 32, base_url=live_server.url)
    with stranger, pytest.raises(AuthenticationError, match="Invalid API key"):
        stranger.tasks.list()
    with pytest.raises(PermissionDeniedError, match="Admin access required"):
        client.admin.stats()
    with pytest.raises(TypeError, match="unknown task fields: colour"):
        client.tasks.update(task.id, colour="red")


def test_sharing_forking_and_public_reads(client, live_server):
    task = new_task(client, name="shared")
    other = live_server.account()
    with Torale(api_key=other.key, base_url=live_server.url) as theirs:
        with pytest.raises(PermissionDeniedError, match="Not authorized to access this task"):
            theirs.tasks.get(task.id)
        visibility = client.tasks.visibility(task.id, True)
        assert (visibility.id, visibility.is_public) == (task.id, True)
        public = theirs.tasks.get(task.id)
        assert public.notifications is None and public.view_count == 1
        fork = theirs.tasks.fork(task.id)
        assert (fork.name, fork.state, fork.forked_from_task_id) == (
            "shared (Copy)",
            "paused",
            task.id,
        )
    assert client.tasks.get(task.id).subscriber_count == 1


def test_preview_and_suggest(client):
    preview = client.tasks.preview(search_query=QUERY, condition_description=CONDITION)
    assert preview.condition_met is True and preview.answer == "Apple announced September 19."
    assert preview.grounding_sources[0].uri.startswith("https://www.apple.com/")
    suggestion = client.tasks.suggest("tell me when the iPhone date is out")
    assert suggestion.schedule == "0 9 * * *" and suggestion.notify_behavior == "once"


def test_execute_wait_executions_notifications_and_deliveries(client, live_server):
    task = new_task(client, notifications=[{"type": "webhook", "url": live_server.hook_url}])
    started = client.tasks.execute(task.id)
    assert started.message == "Task execution initiated"
    seen = []
    done = client.executions.wait(
        task.id, started.execution_id, timeout=30, poll_interval=0.2, on_poll=seen.append
    )
    assert isinstance(done, Execution) and done.status == "success" and seen[-1] == done
    assert done.result.answer == "Apple announced September 19."
    assert [e.id for e in client.executions.iter(task.id)] == [done.id]
    assert client.executions.list(task.id, status="failed").total == 0
    [note] = client.notifications.list(task.id).items
    assert note.id == done.id and note.task_name == task.name
    assert [n.id for n in client.notifications.iter()] == [done.id]
    [delivery] = client.webhooks.deliveries(task.id).items
    assert delivery.target == live_server.hook_url and delivery.execution_id == done.id
    again = client.webhooks.redeliver(delivery.id)
    assert (again.id, again.event_id) == (delivery.id, delivery.event_id)


def test_api_keys(client, live_server):
    created = client.api_keys.create("ci")
    assert created.key.startswith("sk_") and created.key_prefix.endswith(created.key[-5:])
    names = {k.name for k in client.api_keys.iter()}
    assert names == {"test", "ci"}
    with Torale(api_key=created.key, base_url=live_server.url) as second:
        assert second.me().email == client.me().email
    assert client.api_keys.revoke(created.id).message == "API key revoked successfully"
    with pytest.raises(NotFoundError):
        client.api_keys.revoke(uuid.uuid4())


def test_webhook_secret_rotation_and_verification(client, live_server):
    first = client.webhooks.secret()
    assert first.secret.startswith("whsec_")
    rotated = client.webhooks.rotate()
    assert rotated.secret != first.secret and rotated.previous_valid_until is not None
    before = len(live_server.peer.requests_to("/hook"))
    result = client.webhooks.test(live_server.hook_url)
    assert result.success and result.status_code == 204
    [request] = live_server.peer.requests_to("/hook")[before:]
    # During the grace period both secrets sign; a receiver holding either one verifies.
    for secrets in ([rotated.secret], [first.secret], ["whsec_" + "A" * 43, rotated.secret]):
        event = webhooks.verify(request.body, request.headers, secrets)
        assert isinstance(event, webhooks.TestEvent) and event.type == "test"
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.verify(request.body + b" ", request.headers, rotated.secret)


def test_admin(live_server, admin_account, account):
    with Torale(api_key=admin_account.key, base_url=live_server.url) as admin:
        user_task = None
        with Torale(api_key=account.key, base_url=live_server.url) as user:
            user_task = new_task(user)
        stats = admin.admin.stats()
        assert stats.users.total == 2 and stats.tasks.active == 1
        assert {u.email for u in admin.admin.users().items} == {admin_account.email, account.email}
        assert {u.email for u in admin.admin.iter_users()} == {admin_account.email, account.email}
        assert admin.admin.queries().items[0].search_query == QUERY
        assert admin.admin.executions(hours=1).total == 0
        assert admin.admin.errors(hours=1).error_types == {}
        schedules = admin.admin.schedules(limit=100)
        assert str(user_task.id) in {str(s.task_id) for s in schedules.items}
        assert admin.admin.workflows().page == 1
        off = admin.admin.deactivate_user(account.user_id)
        assert (off.user_id, off.tasks_paused) == (account.user_id, 1)
        assert admin.admin.activate_user(account.user_id).user_id == account.user_id


async def test_async_client(live_server, account):
    async with AsyncTorale(api_key=account.key, base_url=live_server.url) as client:
        task = await client.tasks.create(
            search_query=QUERY, condition_description=CONDITION, schedule="0 9 * * *"
        )
        assert (await client.tasks.get(task.id)).id == task.id
        assert [t.id async for t in client.tasks.iter(state="active")] == [task.id]
        assert (await client.me()).email == account.email
        started = await client.tasks.execute(task.id)
        done = await client.executions.wait(task.id, started.execution_id, poll_interval=0.2)
        assert done.status == "success"
        await client.tasks.delete(task.id)
        with pytest.raises(NotFoundError):
            await client.tasks.get(task.id)


def test_configuration_from_the_environment(live_server, account, monkeypatch, tmp_path):
    monkeypatch.setenv("TORALE_CONFIG", str(tmp_path / "none.json"))
    monkeypatch.setenv("TORALE_API_KEY", account.key)
    monkeypatch.setenv("TORALE_API_URL", live_server.url + "/")
    with Torale(user_agent="my-script/1.0") as client:
        assert client.base_url == live_server.url
        assert client.me().email == account.email
    monkeypatch.delenv("TORALE_API_KEY")
    from torale.client import ConfigurationError

    with pytest.raises(ConfigurationError, match="no API key"):
        Torale()
