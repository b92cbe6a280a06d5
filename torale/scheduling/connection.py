"""A process's Temporal client, made on first use.

Most API requests (reads, auth, GraphQL queries) never talk to Temporal, and the SDK
costs about 17 MiB of RSS and a third of a second to import. So the API imports it
when a request first needs Temporal (a task write, a manual run, an admin listing,
`/ready`), not at start-up. Workers and tools that hold a connected client wrap it
with `TemporalConnection.of`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from temporalio.client import Client


class TemporalConnection:
    def __init__(
        self,
        address: str,
        namespace: str,
        interceptors: Callable[[], Sequence[Any]] = tuple,
    ) -> None:
        self._address = address
        self._namespace = namespace
        self._interceptors = interceptors
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def of(cls, client: Client) -> TemporalConnection:
        """A connection that is already made."""
        connection = cls(client.service_client.config.target_host, client.namespace)
        connection._client = client
        return connection

    @property
    def namespace(self) -> str:
        return self._namespace

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    from temporalio.client import Client

                    # lazy: no RPC here; the first call connects, and a Temporal that
                    # is still coming up fails that call, not this one.
                    self._client = await Client.connect(
                        self._address,
                        namespace=self._namespace,
                        lazy=True,
                        interceptors=list(self._interceptors()),
                    )
        return self._client
