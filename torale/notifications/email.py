"""condition_met notification e-mails: composition and SMTP delivery.

Everything shown in the e-mail (task name, answer, reasoning, sources) comes from
users or from web pages, so the HTML part escapes all of it and only links sources
whose URL is http(s).
"""

from __future__ import annotations

import asyncio
import html
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Literal

TlsMode = Literal["starttls", "ssl", "none"]

_SUBJECT_MAX = 150


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    sender: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    tls: TlsMode = "starttls"
    timeout: float = 30.0
    # Extra CA bundle to trust (e.g. a private relay with its own CA).
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if self.tls not in ("starttls", "ssl", "none"):
            raise ValueError("SMTP TLS mode must be one of: starttls, ssl, none")
        if (self.username is None) != (self.password is None):
            raise ValueError("SMTP username and password must be set together")


class EmailDeliveryError(Exception):
    """Sending failed. `permanent` failures (e.g. recipient refused) are not worth retrying."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _safe_href(uri: str) -> str | None:
    return uri if uri.lower().startswith(("http://", "https://")) else None


@dataclass(frozen=True)
class _ConditionMet:
    """What the message says, in both of its parts."""

    task_name: str
    answer: str | None
    reasoning: str | None
    change_summary: str | None
    sources: Sequence[Mapping[str, Any]]
    task_url: str | None

    def sections(self) -> list[tuple[str, str]]:
        """The titled texts the message has (an empty one is left out)."""
        titled = (
            ("Answer", self.answer),
            ("Reasoning", self.reasoning),
            ("What changed", self.change_summary),
        )
        return [(title, value) for title, value in titled if value]


def _text_body(met: _ConditionMet) -> str:
    lines = [f"The condition of your Torale task “{met.task_name}” is met.", ""]
    for title, value in met.sections():
        lines += [f"{title}:", value, ""]
    if met.sources:
        lines.append("Sources:")
        for source in met.sources:
            uri = str(source.get("uri") or "")
            title = str(source.get("title") or uri)
            lines.append(f"- {title}: {uri}" if uri and title != uri else f"- {title}")
        lines.append("")
    if met.task_url:
        lines += [f"View the task: {met.task_url}", ""]
    return "\n".join(lines)


def _html_body(met: _ConditionMet) -> str:
    def para(text: str) -> str:
        return html.escape(text).replace("\n", "<br>\n")

    parts = [
        "<!DOCTYPE html>",
        '<html><body style="font-family: sans-serif; line-height: 1.4">',
        f"<h2>Condition met: {html.escape(met.task_name)}</h2>",
    ]
    for title, value in met.sections():
        parts.append(f"<h3>{title}</h3>\n<p>{para(value)}</p>")
    if met.sources:
        items = []
        for source in met.sources:
            uri = str(source.get("uri") or "")
            title = html.escape(str(source.get("title") or uri))
            href = _safe_href(uri)
            if href:
                items.append(f'<li><a href="{html.escape(href, quote=True)}">{title}</a></li>')
            else:
                items.append(f"<li>{title}</li>")
        parts.append("<h3>Sources</h3>\n<ul>\n" + "\n".join(items) + "\n</ul>")
    if met.task_url and _safe_href(met.task_url):
        link = html.escape(met.task_url, quote=True)
        parts.append(f'<p><a href="{link}">View the task</a></p>')
    parts.append("</body></html>")
    return "\n".join(parts)


def compose_condition_met_email(
    *,
    sender: str,
    to: str,
    task_name: str,
    answer: str | None,
    reasoning: str | None,
    change_summary: str | None,
    grounding_sources: Sequence[Mapping[str, Any]],
    task_url: str | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """A multipart/alternative message (text/plain + text/html)."""
    message = EmailMessage()
    message["Subject"] = _one_line(f"Torale: condition met — {task_name}", _SUBJECT_MAX)
    message["From"] = sender
    message["To"] = to
    if message_id:
        message["Message-ID"] = message_id
    met = _ConditionMet(task_name, answer, reasoning, change_summary, grounding_sources, task_url)
    message.set_content(_text_body(met))
    message.add_alternative(_html_body(met), subtype="html")
    return message


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.ca_file:
        context.load_verify_locations(cafile=settings.ca_file)
    return context


def _send_blocking(settings: SmtpSettings, message: EmailMessage) -> None:
    if settings.tls == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=_tls_context(settings)
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with client:
        if settings.tls == "starttls":
            client.starttls(context=_tls_context(settings))
        if settings.username is not None and settings.password is not None:
            client.login(settings.username, settings.password)
        client.send_message(message, from_addr=settings.sender)


def _is_permanent(exc: smtplib.SMTPException) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return True
    code = getattr(exc, "smtp_code", None)
    return isinstance(code, int) and code >= 500


async def send_email(settings: SmtpSettings, message: EmailMessage) -> None:
    """Send `message` via SMTP (in a thread: smtplib blocks).

    Raises EmailDeliveryError; `.permanent` tells the caller whether to retry.
    """
    try:
        await asyncio.to_thread(_send_blocking, settings, message)
    except smtplib.SMTPException as exc:
        raise EmailDeliveryError(
            f"SMTP delivery failed: {exc}", permanent=_is_permanent(exc)
        ) from exc
    except (OSError, ssl.SSLError) as exc:
        raise EmailDeliveryError(
            f"Could not reach SMTP server {settings.host}:{settings.port}: {exc}",
            permanent=False,
        ) from exc
