"""Whether a string taken from a token can be stored and compared safely.

Claims are signed by the identity provider, not checked by it: a `sub` or `email`
may hold NUL (which PostgreSQL cannot store), other control characters, or lone
UTF-16 surrogates (which cannot be encoded as UTF-8 at all). Such a value reaching
a query is a 500; refusing it up front is a clear 401/422.
"""

from __future__ import annotations

import unicodedata

# Control characters (Cc, NUL included) and unpaired surrogates (Cs).
_UNUSABLE_CATEGORIES = frozenset({"Cc", "Cs"})


def is_clean_text(value: str) -> bool:
    return not any(unicodedata.category(ch) in _UNUSABLE_CATEGORIES for ch in value)
