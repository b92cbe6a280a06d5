"""Secrets sealed at rest with AES-256-GCM: webhook signing secrets, and the answers
idempotency keys replay (torale.http.idempotency).

HMAC signing needs the secret itself, so unlike an API key it cannot be stored as a
hash; but a leaked database dump or backup must not let anyone forge our webhooks.
A secret is stored as `enc:v1:<base64url(nonce | ciphertext | tag)>`, encrypted under
a key derived from `TORALE_SECRET_KEY` and bound to its user: the user id is the
associated data, so a sealed secret copied onto another user's row does not open.

A secret stored in clear (written before a key was configured) still opens, and is
sealed when it is next written (rotation). With no key configured, which only
development allows, secrets are stored in clear.
"""

from __future__ import annotations

import base64
import functools
import os
import uuid
from typing import TYPE_CHECKING

from torale.config import Settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# cryptography's bindings are ~6 MiB resident: they are imported when a box first opens
# or seals something, not by every process that can reach this module (the API).

SEALED_PREFIX = "enc:v1:"
_NONCE_BYTES = 12


class SecretUnreadable(RuntimeError):
    """A sealed secret that this process cannot open (no key, or another key)."""


@functools.lru_cache(maxsize=4)
def _derive_key(secret_key: str) -> bytes:
    # HKDF with a purpose label: the same TORALE_SECRET_KEY may protect other things later.
    # Cached: a box is built per request or delivery from the same few keys.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"torale webhook secrets v1"
    ).derive(secret_key.encode())


class SecretBox:
    def __init__(self, secret_key: str | None) -> None:
        self._aead: AESGCM | None = None
        if secret_key:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._aead = AESGCM(_derive_key(secret_key))

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        key = settings.secret_key
        return cls(key.get_secret_value() if key else None)

    def seal(self, plain: str, user_id: uuid.UUID) -> str:
        if self._aead is None:
            return plain
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plain.encode(), user_id.bytes)
        return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, stored: str, user_id: uuid.UUID) -> str:
        if not stored.startswith(SEALED_PREFIX):
            return stored
        if self._aead is None:
            raise SecretUnreadable(
                "webhook signing secrets are encrypted but TORALE_SECRET_KEY is not set"
            )
        from cryptography.exceptions import InvalidTag

        raw = base64.urlsafe_b64decode(stored[len(SEALED_PREFIX) :])
        try:
            return self._aead.decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], user_id.bytes
            ).decode()
        except InvalidTag:
            raise SecretUnreadable(
                "a webhook signing secret does not open with this TORALE_SECRET_KEY "
                "(was it changed?)"
            ) from None
