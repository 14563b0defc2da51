"""Client side above the sans-IO core: the failover policy, and the blocking and asyncio clients."""
