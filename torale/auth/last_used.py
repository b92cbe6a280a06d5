"""`last_used_at` for API keys without a database write per request.

Each API process remembers, in memory, the latest use of every key it served and
writes them back in one statement every few seconds (and at shutdown). The value
may lag by that interval, which the contract allows.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

_FLUSH = text(
    """
    UPDATE api_keys AS k SET last_used_at = v.used_at
    FROM unnest(CAST(:ids AS uuid[]), CAST(:stamps AS timestamptz[])) AS v(id, used_at)
    WHERE k.id = v.id AND (k.last_used_at IS NULL OR k.last_used_at < v.used_at)
    """
)


class LastUsedBuffer:
    def __init__(self) -> None:
        # POSIX timestamps: every request with a key touches it, and `time.time()` is
        # a fraction of an aware datetime's cost; the few flushed are converted then.
        self._pending: dict[uuid.UUID, float] = {}

    def touch(self, key_id: uuid.UUID) -> None:
        self._pending[key_id] = time.time()

    def __len__(self) -> int:
        return len(self._pending)

    async def flush(self, factory: async_sessionmaker[AsyncSession]) -> int:
        if not self._pending:
            return 0
        batch, self._pending = self._pending, {}
        try:
            async with factory() as session:
                stamps = [datetime.fromtimestamp(stamp, UTC) for stamp in batch.values()]
                await session.execute(_FLUSH, {"ids": list(batch), "stamps": stamps})
                await session.commit()
        except Exception:
            # Put them back (newer touches win) so the next flush retries.
            for key_id, stamp in batch.items():
                self._pending.setdefault(key_id, stamp)
            raise
        return len(batch)

    async def run_periodically(
        self, factory: async_sessionmaker[AsyncSession], interval: float
    ) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.flush(factory)
            except Exception:
                log.exception("could not write API key last_used_at; will retry")
