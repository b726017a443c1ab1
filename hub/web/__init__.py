"""The aiohttp application: REST API, agent WebSocket, public endpoints and static pages."""
