from __future__ import annotations

import ssl
from email.message import EmailMessage
from typing import Any

import pytest

from tests.net.tls_cert import write_self_signed
from tests.smtp_inbox import free_port, smtp_server
from torale.notifications.email import (
    EmailDeliveryError,
    SmtpSettings,
    compose_condition_met_email,
    send_email,
)

SOURCES = [
    {"uri": "https://apple.com/newsroom?a=1&b=2", "title": "Apple <Newsroom>"},
    {"uri": "javascript:alert(1)", "title": "Sneaky"},
    {"uri": "https://example.com/plain"},
]


def _smtp(port: int, **fields: Any) -> SmtpSettings:
    """Settings for the local server on `port`; TLS and credentials as given."""
    return SmtpSettings(host="127.0.0.1", port=port, sender="alerts@torale.test", **fields)


def _message(to: str = "user@example.com") -> EmailMessage:
    return compose_condition_met_email(
        sender="Torale <alerts@torale.test>",
        to=to,
        task_name='iPhone <script>alert("x")</script> watch',
        answer="Release on September 19 & pre-orders on the 12th",
        reasoning="Apple's <b>newsroom</b> announced it.\nSecond line.",
        change_summary="Release date went from unknown to September 19",
        grounding_sources=SOURCES,
        task_url="https://torale.test/tasks/1",
    )


@pytest.fixture
def tls_files(tmp_path) -> tuple[str, str]:
    cert, key = write_self_signed(tmp_path, ["127.0.0.1"])
    return str(cert), str(key)


def _server_tls(tls_files: tuple[str, str]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_files)
    return context


def test_message_is_multipart_alternative_with_escaped_html() -> None:
    message = _message()
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"].startswith("Torale: condition met — iPhone")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()

    assert "Release on September 19 & pre-orders on the 12th" in text
    assert "Apple's <b>newsroom</b> announced it." in text
    assert "Release date went from unknown to September 19" in text
    assert "- Apple <Newsroom>: https://apple.com/newsroom?a=1&b=2" in text
    assert "View the task: https://torale.test/tasks/1" in text

    assert "<script>" not in html
    assert "iPhone &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; watch" in html
    assert "September 19 &amp; pre-orders" in html
    assert "Apple&#x27;s &lt;b&gt;newsroom&lt;/b&gt; announced it.<br>" in html
    assert '<a href="https://apple.com/newsroom?a=1&amp;b=2">Apple &lt;Newsroom&gt;</a>' in html
    assert "javascript:" not in html
    assert "<li>Sneaky</li>" in html
    assert '<a href="https://example.com/plain">https://example.com/plain</a>' in html


def test_subject_cannot_carry_header_injection() -> None:
    message = compose_condition_met_email(
        sender="a@torale.test",
        to="b@example.com",
        task_name="x\r\nBcc: victim@example.com",
        answer=None,
        reasoning=None,
        change_summary=None,
        grounding_sources=[],
    )
    assert "\n" not in message["Subject"]
    assert message["Bcc"] is None
    assert "Answer" not in message.get_body(("plain",)).get_content()


async def test_plain_smtp_delivery() -> None:
    with smtp_server() as (inbox, port):
        settings = _smtp(port, tls="none")
        await send_email(settings, _message())
    [(mail_from, rcpts, received)] = inbox.messages
    assert mail_from == "alerts@torale.test"
    assert rcpts == ["user@example.com"]
    assert received.get_content_type() == "multipart/alternative"
    assert "September 19 &amp; pre-orders" in received.get_body(("html",)).get_content()
    assert "September 19 & pre-orders" in received.get_body(("plain",)).get_content()


async def test_starttls_with_credentials(tls_files) -> None:
    with smtp_server(
        tls_context=_server_tls(tls_files),
        require_starttls=True,
        authenticator=True,
        auth_require_tls=True,
    ) as (inbox, port):
        login = {"username": "torale", "password": "s3cret"}
        settings = _smtp(port, tls="starttls", ca_file=tls_files[0], **login)
        await send_email(settings, _message())
    assert inbox.logins == ["torale"]
    assert len(inbox.messages) == 1


async def test_wrong_credentials_are_permanent(tls_files) -> None:
    with smtp_server(
        tls_context=_server_tls(tls_files),
        require_starttls=True,
        authenticator=True,
    ) as (inbox, port):
        settings = _smtp(port, username="torale", password="wrong", ca_file=tls_files[0])
        with pytest.raises(EmailDeliveryError) as info:
            await send_email(settings, _message())
    assert info.value.permanent
    assert inbox.messages == []


async def test_untrusted_certificate_is_refused(tls_files) -> None:
    with smtp_server(tls_context=_server_tls(tls_files), require_starttls=True) as (inbox, port):
        settings = _smtp(port)
        with pytest.raises(EmailDeliveryError, match="certificate"):
            await send_email(settings, _message())
    assert inbox.messages == []


async def test_implicit_tls(tls_files) -> None:
    with smtp_server(ssl_context=_server_tls(tls_files)) as (inbox, port):
        settings = _smtp(port, tls="ssl", ca_file=tls_files[0])
        await send_email(settings, _message())
    assert len(inbox.messages) == 1


async def test_refused_recipient_is_permanent() -> None:
    with smtp_server() as (inbox, port):
        settings = SmtpSettings(host="127.0.0.1", port=port, tls="none", sender="a@torale.test")
        with pytest.raises(EmailDeliveryError, match="No such user") as info:
            await send_email(settings, _message(to="nobody@example.com"))
    assert info.value.permanent
    assert inbox.messages == []


async def test_unreachable_server_is_transient() -> None:
    settings = SmtpSettings(
        host="127.0.0.1", port=free_port(), tls="none", sender="a@torale.test", timeout=2
    )
    with pytest.raises(EmailDeliveryError, match="Could not reach SMTP server") as info:
        await send_email(settings, _message())
    assert not info.value.permanent


def test_settings_validation() -> None:
    with pytest.raises(ValueError, match="TLS mode"):
        SmtpSettings(host="h", sender="s", tls="tls")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="together"):
        SmtpSettings(host="h", sender="s", username="u")
