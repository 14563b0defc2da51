"""Client side above the sans-IO core: the failover policy, and the blocking and asyncio clients."""

from stomptest.client.aio import AsyncClient, AsyncSubscription
from stomptest.client.sync import Client, ClientSubscription

__all__ = ["AsyncClient", "AsyncSubscription", "Client", "ClientSubscription"]
