"""JSON/JSONB columns decode with orjson but exactly as the stdlib would."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from torale.db import create_engine
from torale.db_json import loads_json_column

# What the stdlib reads exactly and orjson alone would not: integers beyond 64 bits
# (orjson rounds them to floats) and numbers beyond a double (orjson refuses them).
EDGE_CASES = [
    "123456789012345678901234567890",
    "-9223372036854775809",
    "18446744073709551616",
    '{"limit": 99999999999999999999999, "name": "x"}',
    "1e400",
    "[-1e400, 0.1, 1.7976931348623157e308, 5e-324]",
]
ORDINARY = [
    '{"type": "object", "properties": {"price": {"type": "number"}}}',
    '[{"url": "https://example.com/a?id=123", "title": "Préc🎉"}]',
    "18446744073709551615",
    "-9223372036854775808",
    '"ünïcödé \\u00e9 \\ud83c\\udf89"',
    "null",
    # Short texts skip the scan for rounded integers; floats of 2**63 and beyond in them
    # are read alike by both parsers.
    "1e19",
    "[1e19,-1e19]",
    "{}",
]


@pytest.mark.parametrize("raw", EDGE_CASES + ORDINARY)
def test_decoding_is_what_the_stdlib_gives(raw: str) -> None:
    got = loads_json_column(raw)
    assert got == json.loads(raw)
    assert repr(got) == repr(json.loads(raw))  # 1 and 1.0 are ==, not the same value


async def test_the_engine_decodes_jsonb_with_it_and_loses_no_digits(settings) -> None:
    engine = create_engine(settings)
    try:
        assert engine.dialect._json_deserializer is loads_json_column  # type: ignore[attr-defined]
        async with engine.connect() as conn:
            for raw in EDGE_CASES + ORDINARY:
                stored = (
                    await conn.execute(text("SELECT CAST(:v AS jsonb)::text"), {"v": raw})
                ).scalar_one()
                value = (
                    await conn.execute(text("SELECT CAST(:v AS jsonb)"), {"v": raw})
                ).scalar_one()
                assert repr(value) == repr(json.loads(stored)), raw
            big = (
                await conn.execute(text("SELECT CAST(:v AS jsonb)"), {"v": EDGE_CASES[0]})
            ).scalar_one()
            assert big == 123456789012345678901234567890 and isinstance(big, int)
    finally:
        await engine.dispose()
