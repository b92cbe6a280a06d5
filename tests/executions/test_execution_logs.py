"""A failed execution is one log line naming it, not the SDK's traceback per attempt."""

from __future__ import annotations

import logging


async def test_a_failed_execution_logs_one_line_with_its_ids(make_stack, make_account, caplog):
    caplog.set_level(logging.DEBUG)
    account = await make_account()
    async with make_stack(providers=False) as stack:
        task = await stack.create_task(account.headers)
        caplog.clear()
        done = await stack.run(account.headers, task["id"])
        assert done["status"] == "failed" and done["error_type"] == "not_configured"

    tracebacks = [r for r in caplog.records if r.levelno >= logging.WARNING and r.exc_info]
    assert tracebacks == []
    (line,) = [r for r in caplog.records if getattr(r, "execution_id", None) == done["id"]]
    assert line.levelno == logging.WARNING
    assert (line.task_id, line.error_type) == (task["id"], "not_configured")
    assert "\n" not in line.getMessage() and "TORALE_LLM_BASE_URL" in line.getMessage()
