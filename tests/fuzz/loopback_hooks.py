"""Schemathesis extensions for the fuzz run, loaded through SCHEMATHESIS_HOOKS.

- `before_call`: every http(s) URL a generated case carries, in its body or query
  string, is pointed at the run's local peer first, so webhook tests and page fetches
  never leave the machine whatever the fuzzer writes. Only URLs are rewritten, so a
  value that is no URL (a negative case's number or `ftp:` string) stays as invalid
  as it was generated.
  It also keeps the fuzzer from revoking the very key it authenticates with (it learns
  key ids from `GET /auth/api-keys` answers): that one id is swapped for an unknown one.
- `torale_no_server_error`: the property under test. A 5xx is a server error on either
  door; on `/graphql` so is an answer carrying a masked unexpected error (code
  `INTERNAL`). Domain errors (`VALIDATION`, `NOT_FOUND` ...) are the API working, which
  Schemathesis' own GraphQL check would count as failures.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import graphql
import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from tests.fuzz.live_api import HOOK_URL_VARIABLE, OWN_KEY_VARIABLE, keep_on_loopback

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"

# `format: cron` (a task's schedule): JSON Schema can say a cron's shape (its `pattern`)
# but not which dates exist (`0 0 31 2 *` never fires) or that ranges ascend, so valid
# values are drawn from the schedules Temporal fires.
_MINUTES = st.sampled_from(["*", "0", "5", "*/15", "0,30", "10-20", "0-59/10"])
_HOURS = st.sampled_from(["*", "9", "0-23/6", "8-18", "1,13"])
_DAYS = st.sampled_from(["*", "1", "1-15", "*/2", "28"])
_MONTHS = st.sampled_from(["*", "1", "jan-jun", "*/3", "12"])
_WEEKDAYS = st.sampled_from(["*", "1-5", "mon-fri", "0", "sat,sun"])
schemathesis.openapi.format(
    "cron",
    st.tuples(_MINUTES, _HOURS, _DAYS, _MONTHS, _WEEKDAYS).map(" ".join),
)

# `JSON` (task config, channels, import items): Schemathesis has no strategy for a
# custom scalar, so any JSON value, as GraphQL literals: leaves, and small objects and
# lists of them, for the resolvers' own checks to refuse or accept.
_JSON_LEAF = st.one_of(
    st.text(max_size=20).map(nodes.String),
    st.integers(-(2**31), 2**31 - 1).map(nodes.Int),
    st.booleans().map(nodes.Boolean),
    st.just(nodes.Null),
)


def _json_object(children: Any) -> Any:
    field = st.builds(
        lambda name, value: graphql.ObjectFieldNode(name=graphql.NameNode(value=name), value=value),
        st.from_regex(r"\A[_A-Za-z][_0-9A-Za-z]{0,10}\Z"),
        children,
    )
    return st.lists(field, max_size=4, unique_by=lambda f: f.name.value).map(nodes.Object)


schemathesis.graphql.scalar(
    "JSON",
    st.recursive(
        _JSON_LEAF,
        lambda children: st.one_of(
            st.lists(children, max_size=4).map(nodes.List), _json_object(children)
        ),
        max_leaves=8,
    ),
)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    hook_url = os.environ[HOOK_URL_VARIABLE]
    if isinstance(case.body, dict | list | str):
        case.body = keep_on_loopback(case.body, hook_url)
    if isinstance(case.query, dict):
        case.query = keep_on_loopback(case.query, hook_url)
    # A client sends a new Idempotency-Key with each new request; generated keys repeat
    # across cases with other bodies, which the API rightly refuses (422). A valid key
    # is made unique; an invalid one (a negative case) is left invalid.
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and 0 < len(key) <= 200 and key.isascii() and key.isprintable():
        case.headers["Idempotency-Key"] = f"{key}-{uuid.uuid4().hex}"
    own_key = os.environ.get(OWN_KEY_VARIABLE)
    parameters = getattr(case, "path_parameters", None)
    if own_key and isinstance(parameters, dict) and parameters.get("key_id") == own_key:
        case.path_parameters = {**parameters, "key_id": UNKNOWN_ID}


def internal_errors(text: str) -> list[str]:
    """Messages of the GraphQL errors in `text` whose code is INTERNAL."""
    try:
        body = json.loads(text)
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [
        str(error.get("message"))
        for error in errors or []
        if isinstance(error, dict) and (error.get("extensions") or {}).get("code") == "INTERNAL"
    ]


@schemathesis.check
def torale_no_server_error(ctx: Any, response: Any, case: Any) -> None:
    if response.status_code >= 500:
        raise AssertionError(f"Server error {response.status_code}: {response.text[:300]}")
    masked = internal_errors(response.text)
    if masked:
        raise AssertionError(f"GraphQL internal error: {masked[0]}")
