"""Variables of plain numbers, flags and nulls are let through without a walk; a bad
name among them is still refused, and so is anything holding text."""

from __future__ import annotations

import pytest

from torale.errors import ValidationFailed
from torale.graphql.input_guard import NUL_MESSAGE, SURROGATE_MESSAGE, refuse_bad_input
from torale.input_limits import MAX_STRING_CHARS


@pytest.mark.parametrize(
    "variables",
    [None, {}, {"page": 1, "limit": 20, "state": None, "active": None}, {"x": 1.5, "y": True}],
)
def test_plain_variables_pass(variables) -> None:
    refuse_bad_input(variables)


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"pa\x00ge": 1}, NUL_MESSAGE),
        ({"page\ud800": 1}, SURROGATE_MESSAGE),
        ({"p" * (MAX_STRING_CHARS + 1): None}, None),
        ({"page": 1, "state": "act\x00ive"}, NUL_MESSAGE),
        ({"page": 1, "tags": ["ok", "\ud800"]}, SURROGATE_MESSAGE),
    ],
)
def test_what_holds_bad_text_is_still_refused(variables, message) -> None:
    with pytest.raises(ValidationFailed) as refused:
        refuse_bad_input(variables)
    if message is not None:
        assert [error.msg for error in refused.value.errors] == [message]
