"""task_failing / task_recovered e-mails: plain text and escaped HTML, like condition_met."""

from __future__ import annotations

import html
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from torale.notifications.email import _one_line

_SUBJECT_MAX = 150


def _count(number: Any, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _lines(event_type: str, data: Mapping[str, Any]) -> tuple[str, list[str]]:
    name = str(data.get("task_name") or "")
    if event_type == "task_failing":
        subject = f"Torale: task failing — {name}"
        lines = [
            f"Your Torale task “{name}” is failing: "
            f"{_count(data.get('consecutive_failures'), 'execution')} failed in a row.",
            f"Latest error: {data.get('error_message') or 'unknown'}",
            "You will hear again when it succeeds.",
        ]
    else:
        subject = f"Torale: task recovered — {name}"
        lines = [
            f"Your Torale task “{name}” runs successfully again, after "
            f"{_count(data.get('failed_executions'), 'failed execution')} "
            f"(failing since {data.get('failing_since')}).",
        ]
    return _one_line(subject, _SUBJECT_MAX), lines


def compose_health_email(
    *,
    sender: str,
    to: str,
    event_type: str,
    data: Mapping[str, Any],
    task_url: str | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    subject, lines = _lines(event_type, data)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    if message_id:
        message["Message-ID"] = message_id
    text = "\n\n".join(lines)
    page = "".join(f"<p>{html.escape(line)}</p>\n" for line in lines)
    if task_url and task_url.lower().startswith(("http://", "https://")):
        text += f"\n\nView the task: {task_url}"
        page += f'<p><a href="{html.escape(task_url, quote=True)}">View the task</a></p>\n'
    message.set_content(text + "\n")
    message.add_alternative(f"<!DOCTYPE html>\n<html><body>\n{page}</body></html>", subtype="html")
    return message
