"""API key format: `sk_` + 32 characters of [A-Za-z0-9], stored only as SHA-256."""

from __future__ import annotations

import hashlib
import secrets
import string

KEY_PREFIX = "sk_"
KEY_BODY_LENGTH = 32
_ALPHABET = string.ascii_letters + string.digits


def generate_api_key() -> str:
    return KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(KEY_BODY_LENGTH))


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """What the key list shows: `sk_...` plus the last five characters."""
    return f"{KEY_PREFIX}...{key[-5:]}"


def looks_like_api_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)
