"""Which names code written out at run time (`field_code`, `record_builders`) may put
into its source text as they are."""

from __future__ import annotations

import keyword


def reads_as_itself(name: str) -> bool:
    """Whether `name`, written into source as `obj.<name>`, reads the attribute `name`:
    an ASCII identifier (Python normalises others, which could name another attribute),
    not a keyword, and not a dunder name."""
    return (
        name.isascii()
        and name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith("__")
    )
