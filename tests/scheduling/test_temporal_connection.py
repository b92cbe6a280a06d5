"""The API's Temporal client is made on first use, once, and then shared."""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from torale.scheduling import TaskScheduler
from torale.scheduling.connection import TemporalConnection


async def test_first_use_connects_once_and_every_caller_shares_it(temporal_client: Client):
    address = temporal_client.service_client.config.target_host
    connection = TemporalConnection(address, temporal_client.namespace)
    clients = await asyncio.gather(*(connection.client() for _ in range(5)))
    assert all(client is clients[0] for client in clients)
    assert await connection.client() is clients[0]
    assert clients[0].namespace == temporal_client.namespace
    # A real connection to the test server: a health check answers.
    assert await clients[0].service_client.check_health()


async def test_a_scheduler_on_a_lazy_connection_works(temporal_client: Client, task_ids):
    address = temporal_client.service_client.config.target_host
    scheduler = TaskScheduler(TemporalConnection(address, temporal_client.namespace), "lazy-q")
    task_id = task_ids()
    assert await scheduler.describe(task_id) is None
    assert await scheduler.temporal_client() is await scheduler.temporal_client()


async def test_making_the_client_sends_no_rpc():
    # Nothing listens there: the first call fails (tests/scheduling/
    # test_scheduling_unavailable.py), making the client does not.
    client = await TemporalConnection("127.0.0.1:1", "default").client()
    assert isinstance(client, Client)


async def test_a_connected_client_is_used_as_is(temporal_client: Client):
    scheduler = TaskScheduler(temporal_client, "q")
    assert await scheduler.temporal_client() is temporal_client
