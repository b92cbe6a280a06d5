"""OIDC sign-in from the dashboard: authorization code with PKCE against a local
provider, the ID token kept for the tab, and the user synced on first sign-in."""

from __future__ import annotations

import json
import uuid

from playwright.async_api import Page, expect

from tests.dashboard.conftest import _serve
from tests.dashboard.oidc_provider import running_provider
from torale.app import create_app

CLIENT_ID = "torale-dashboard"


async def test_single_sign_on_with_pkce(settings, page: Page) -> None:
    email = f"sso-{uuid.uuid4().hex[:6]}@example.com"
    with running_provider(CLIENT_ID, subject=f"user-{uuid.uuid4().hex}", email=email) as idp:
        app = create_app(
            settings.model_copy(
                update={
                    "jwt_issuer": idp.url,
                    "jwt_jwks_url": f"{idp.url}/jwks",
                    "jwt_audience": CLIENT_ID,
                    "oidc_client_id": CLIENT_ID,
                }
            )
        )
        server, serving, port = await _serve(app)
        try:
            app_url = f"http://127.0.0.1:{port}/app/"
            await page.goto(app_url)
            await page.get_by_role("button", name="Sign in with single sign-on").click()
            await expect(page.get_by_role("heading", level=1, name="Tasks")).to_be_visible()
            await expect(page.locator("#who")).to_contain_text(email)

            [asked] = idp.authorize_requests
            assert asked["code_challenge_method"] == "S256"
            assert asked["redirect_uri"] == app_url
            assert asked["scope"] == "openid email profile"
            [exchanged] = idp.token_requests
            assert len(exchanged["code_verifier"]) >= 43  # RFC 7636's minimum
            # The code and state are gone from the address bar; the token is the tab's.
            assert page.url == f"{app_url}#/tasks"
            stored = json.loads(await page.evaluate("sessionStorage.getItem('torale.credential')"))
            assert stored["kind"] == "oidc" and stored["token"].count(".") == 2
            assert stored["expires_at"] > 0
            assert await page.evaluate("sessionStorage.getItem('torale.oidc.pending')") is None
        finally:
            server.should_exit = True
            await serving
