"""The HTTP API: probes for orchestrators, health, explain and admin overrides (aiohttp)."""
