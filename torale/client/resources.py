"""The API's resources. Each method builds a `Call` and hands it to the client, so one
definition serves `Torale` (the result) and `AsyncTorale` (an awaitable of it).

Creates (`tasks.create`, `tasks.fork`, `tasks.execute`, `api_keys.create`) carry an
`Idempotency-Key`, generated when not given, so a retry after a lost answer never creates
twice. Pass your own key to make a retry across processes safe too.
"""

from __future__ import annotations

import builtins
import uuid
from typing import Any

from torale.client._base import Call, new_idempotency_key
from torale.client.models import (
    AdminExecution,
    AdminStats,
    AdminUser,
    ApiKey,
    ApiKeyCreated,
    Delivery,
    ErrorPage,
    Execution,
    ExecutionStarted,
    ImportReport,
    Message,
    Notification,
    Page,
    Preview,
    QueryFigures,
    Schedule,
    Suggestion,
    Task,
    TaskExport,
    User,
    UserActivated,
    UserDeactivated,
    Visibility,
    WebhookSecret,
    WebhookTestResult,
    Workflow,
)

ID = uuid.UUID | str
# Largest page the API serves: iterators fetch as few pages as they can.
MAX_LIMIT = 100

TASK_FIELDS = frozenset(
    {
        "name",
        "search_query",
        "condition_description",
        "schedule",
        "timezone",
        "notify_behavior",
        "executor_type",
        "config",
        "notifications",
        "is_public",
        "failure_threshold",
        "output_schema",
        "state",
    }
)


def _present(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


class Resource:
    def __init__(self, client: Any) -> None:
        self._client = client

    def _send(self, call: Call) -> Any:
        return self._client._send(call)


class Users(Resource):
    def me(self) -> User:
        return self._send(Call("GET", "/auth/me", model=User))

    def sync(self) -> User:
        """With a JWT: create or update your user from the token's claims."""
        return self._send(Call("POST", "/auth/sync-user", model=User, safe_to_repeat=True))


class Tasks(Resource):
    def create(
        self,
        *,
        search_query: str,
        condition_description: str,
        schedule: str,
        name: str | None = None,
        timezone: str | None = None,
        notify_behavior: str | None = None,
        executor_type: str | None = None,
        config: dict[str, Any] | None = None,
        notifications: list[dict[str, Any]] | None = None,
        is_public: bool | None = None,
        failure_threshold: int | None = None,
        output_schema: dict[str, Any] | None = None,
        run_immediately: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Task:
        body = _present(
            search_query=search_query,
            condition_description=condition_description,
            schedule=schedule,
            name=name,
            timezone=timezone,
            notify_behavior=notify_behavior,
            executor_type=executor_type,
            config=config,
            notifications=notifications,
            is_public=is_public,
            failure_threshold=failure_threshold,
            output_schema=output_schema,
            run_immediately=run_immediately,
        )
        key = idempotency_key or new_idempotency_key()
        return self._send(Call("POST", "/api/v1/tasks", json=body, model=Task, idempotency_key=key))

    def _list_call(self, state: str | None, active: bool | None, page: int, limit: int) -> Call:
        params = {"state": state, "active": active, "page": page, "limit": limit}
        return Call("GET", "/api/v1/tasks", params=params, model=Page[Task])

    def list(
        self,
        *,
        state: str | None = None,
        active: bool | None = None,
        page: int = 1,
        limit: int = 20,
    ) -> Page[Task]:
        return self._send(self._list_call(state, active, page, limit))

    def iter(self, *, state: str | None = None, active: bool | None = None) -> Any:
        """Every task (across pages), newest first."""
        return self._client._iterate(lambda page: self._list_call(state, active, page, MAX_LIMIT))

    def get(self, task_id: ID) -> Task:
        """Yours, or anyone's public task (then without its `notifications`)."""
        return self._send(Call("GET", f"/api/v1/tasks/{task_id}", model=Task))

    def update(self, task_id: ID, **changes: Any) -> Task:
        """Change only the fields given, e.g. `update(id, schedule="0 8 * * *")`."""
        unknown = set(changes) - TASK_FIELDS
        if unknown:
            raise TypeError(f"update() got unknown task fields: {', '.join(sorted(unknown))}")
        return self._send(Call("PUT", f"/api/v1/tasks/{task_id}", json=changes, model=Task))

    def pause(self, task_id: ID) -> Task:
        return self.update(task_id, state="paused")

    def resume(self, task_id: ID) -> Task:
        return self.update(task_id, state="active")

    def complete(self, task_id: ID) -> Task:
        return self.update(task_id, state="completed")

    def delete(self, task_id: ID) -> None:
        return self._send(Call("DELETE", f"/api/v1/tasks/{task_id}"))

    def visibility(self, task_id: ID, is_public: bool) -> Visibility:
        """Share (`True`) or unshare a task; setting a flag is safe to repeat."""
        return self._send(
            Call(
                "PATCH",
                f"/api/v1/tasks/{task_id}/visibility",
                json={"is_public": is_public},
                model=Visibility,
                safe_to_repeat=True,
            )
        )

    def fork(
        self, task_id: ID, *, name: str | None = None, idempotency_key: str | None = None
    ) -> Task:
        """Copy a task (yours or a public one) into a new paused task of yours."""
        return self._send(
            Call(
                "POST",
                f"/api/v1/tasks/{task_id}/fork",
                json=_present(name=name),
                model=Task,
                idempotency_key=idempotency_key or new_idempotency_key(),
            )
        )

    def export(self) -> TaskExport:
        """All of your tasks, as a document `import_tasks` (here or elsewhere) takes."""
        return self._send(Call("GET", "/api/v1/tasks/export", model=TaskExport))

    def import_tasks(
        self,
        # builtins.list: in this class, `list` is the method above.
        tasks: builtins.list[dict[str, Any]],
        *,
        dry_run: bool = False,
        atomic: bool = False,
        idempotency_key: str | None = None,
    ) -> ImportReport:
        """Create tasks from an export's `tasks`; items whose name you have are skipped."""
        return self._send(
            Call(
                "POST",
                "/api/v1/tasks/import",
                json={"tasks": tasks, "dry_run": dry_run, "atomic": atomic},
                model=ImportReport,
                idempotency_key=idempotency_key or new_idempotency_key(),
            )
        )

    def execute(self, task_id: ID, *, idempotency_key: str | None = None) -> ExecutionStarted:
        """Run the task now; follow it with `client.executions.wait(...)`."""
        return self._send(
            Call(
                "POST",
                f"/api/v1/tasks/{task_id}/execute",
                model=ExecutionStarted,
                idempotency_key=idempotency_key or new_idempotency_key(),
            )
        )

    def preview(
        self, *, search_query: str, condition_description: str, config: dict[str, Any] | None = None
    ) -> Preview:
        """Search and evaluate once without saving anything (so it is safe to repeat)."""
        body = _present(
            search_query=search_query, condition_description=condition_description, config=config
        )
        return self._send(
            Call("POST", "/api/v1/tasks/preview", json=body, model=Preview, safe_to_repeat=True)
        )

    def suggest(self, prompt: str, *, current_task: dict[str, Any] | None = None) -> Suggestion:
        """Draft a task from a plain-language request; saves nothing."""
        body = _present(prompt=prompt, current_task=current_task)
        return self._send(
            Call("POST", "/api/v1/tasks/suggest", json=body, model=Suggestion, safe_to_repeat=True)
        )


class Executions(Resource):
    def _list_call(self, task_id: ID, status: str | None, page: int, limit: int) -> Call:
        params = {"status": status, "page": page, "limit": limit}
        path = f"/api/v1/tasks/{task_id}/executions"
        return Call("GET", path, params=params, model=Page[Execution])

    def list(
        self, task_id: ID, *, status: str | None = None, page: int = 1, limit: int = 20
    ) -> Page[Execution]:
        return self._send(self._list_call(task_id, status, page, limit))

    def iter(self, task_id: ID, *, status: str | None = None) -> Any:
        return self._client._iterate(lambda page: self._list_call(task_id, status, page, MAX_LIMIT))

    def get(self, task_id: ID, execution_id: ID) -> Execution:
        path = f"/api/v1/tasks/{task_id}/executions/{execution_id}"
        return self._send(Call("GET", path, model=Execution))

    def wait(
        self,
        task_id: ID,
        execution_id: ID,
        *,
        timeout: float = 300.0,
        poll_interval: float = 1.0,
        on_poll: Any = None,
    ) -> Execution:
        """Poll until the execution succeeded or failed; `TimeoutError` after `timeout` s.

        `on_poll(execution)` is called after each poll (the CLI draws its spinner there).
        """
        return self._client._poll(
            lambda: self.get(task_id, execution_id), timeout, poll_interval, on_poll
        )


class Notifications(Resource):
    def _list_call(self, task_id: ID | None, page: int, limit: int) -> Call:
        path = f"/api/v1/tasks/{task_id}/notifications" if task_id else "/api/v1/notifications"
        return Call("GET", path, params={"page": page, "limit": limit}, model=Page[Notification])

    def list(
        self, task_id: ID | None = None, *, page: int = 1, limit: int = 20
    ) -> Page[Notification]:
        """Executions whose condition was met: of one task, or of all yours."""
        return self._send(self._list_call(task_id, page, limit))

    def iter(self, task_id: ID | None = None) -> Any:
        return self._client._iterate(lambda page: self._list_call(task_id, page, MAX_LIMIT))


class ApiKeys(Resource):
    def create(self, name: str, *, idempotency_key: str | None = None) -> ApiKeyCreated:
        return self._send(
            Call(
                "POST",
                "/auth/api-keys",
                json={"name": name},
                model=ApiKeyCreated,
                idempotency_key=idempotency_key or new_idempotency_key(),
            )
        )

    def _list_call(self, page: int, limit: int) -> Call:
        return Call(
            "GET", "/auth/api-keys", params={"page": page, "limit": limit}, model=Page[ApiKey]
        )

    def list(self, *, page: int = 1, limit: int = 20) -> Page[ApiKey]:
        return self._send(self._list_call(page, limit))

    def iter(self) -> Any:
        return self._client._iterate(lambda page: self._list_call(page, MAX_LIMIT))

    def revoke(self, key_id: ID) -> Message:
        return self._send(Call("DELETE", f"/auth/api-keys/{key_id}", model=Message))


class Webhooks(Resource):
    def secret(self) -> WebhookSecret:
        """Your signing secret (created on first use)."""
        return self._send(Call("GET", "/api/v1/webhooks/secret", model=WebhookSecret))

    def rotate(self) -> WebhookSecret:
        """A new secret; the old one keeps signing during the grace period."""
        return self._send(Call("POST", "/api/v1/webhooks/secret/rotate", model=WebhookSecret))

    def test(self, url: str) -> WebhookTestResult:
        """Send a signed `test` event to `url` now; the receiver's answer."""
        return self._send(
            Call("POST", "/api/v1/webhooks/test", json={"url": url}, model=WebhookTestResult)
        )

    def _deliveries_call(self, task_id: ID, page: int, limit: int) -> Call:
        path = f"/api/v1/tasks/{task_id}/webhook-deliveries"
        return Call("GET", path, params={"page": page, "limit": limit}, model=Page[Delivery])

    def deliveries(self, task_id: ID, *, page: int = 1, limit: int = 20) -> Page[Delivery]:
        return self._send(self._deliveries_call(task_id, page, limit))

    def iter_deliveries(self, task_id: ID) -> Any:
        return self._client._iterate(lambda page: self._deliveries_call(task_id, page, MAX_LIMIT))

    def redeliver(self, delivery_id: ID) -> Delivery:
        """Send the delivery's event again, with the same `webhook-id`."""
        path = f"/api/v1/webhook-deliveries/{delivery_id}/redeliver"
        return self._send(Call("POST", path, model=Delivery))


class Admin(Resource):
    """Platform views; every call needs an admin's key (else `PermissionDeniedError`)."""

    def stats(self) -> AdminStats:
        return self._send(Call("GET", "/admin/stats", model=AdminStats))

    def queries(self, *, page: int = 1, limit: int = 50) -> Page[QueryFigures]:
        params = {"page": page, "limit": limit}
        return self._send(Call("GET", "/admin/queries", params=params, model=Page[QueryFigures]))

    def executions(
        self, *, status: str | None = None, hours: int | None = None, page: int = 1, limit: int = 50
    ) -> Page[AdminExecution]:
        params = {"status": status, "hours": hours, "page": page, "limit": limit}
        return self._send(
            Call("GET", "/admin/executions", params=params, model=Page[AdminExecution])
        )

    def errors(self, *, hours: int | None = None, page: int = 1, limit: int = 50) -> ErrorPage:
        params = {"hours": hours, "page": page, "limit": limit}
        return self._send(Call("GET", "/admin/errors", params=params, model=ErrorPage))

    def _users_call(self, active_only: bool, page: int, limit: int) -> Call:
        params = {"active_only": active_only, "page": page, "limit": limit}
        return Call("GET", "/admin/users", params=params, model=Page[AdminUser])

    def users(
        self, *, active_only: bool = False, page: int = 1, limit: int = 50
    ) -> Page[AdminUser]:
        return self._send(self._users_call(active_only, page, limit))

    def iter_users(self, *, active_only: bool = False) -> Any:
        return self._client._iterate(lambda page: self._users_call(active_only, page, MAX_LIMIT))

    def workflows(self, *, page: int = 1, limit: int = 50) -> Page[Workflow]:
        params = {"page": page, "limit": limit}
        return self._send(
            Call("GET", "/admin/temporal/workflows", params=params, model=Page[Workflow])
        )

    def schedules(self, *, page: int = 1, limit: int = 50) -> Page[Schedule]:
        params = {"page": page, "limit": limit}
        return self._send(
            Call("GET", "/admin/temporal/schedules", params=params, model=Page[Schedule])
        )

    def deactivate_user(self, user_id: ID) -> UserDeactivated:
        path = f"/admin/users/{user_id}/deactivate"
        return self._send(Call("PATCH", path, model=UserDeactivated, safe_to_repeat=True))

    def activate_user(self, user_id: ID) -> UserActivated:
        path = f"/admin/users/{user_id}/activate"
        return self._send(Call("PATCH", path, model=UserActivated, safe_to_repeat=True))
