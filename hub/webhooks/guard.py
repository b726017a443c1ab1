"""Where a webhook may connect: public addresses only, unless the endpoint is allowed private ones.

The check runs on the addresses the connection really uses (a resolver wrapped around aiohttp's), so a name that
resolves to a public address when checked and to 127.0.0.1 when connecting (DNS rebinding) is still refused.
Redirects are never followed, for the same reason.
"""
from __future__ import annotations

import ipaddress
import socket
from typing import Any

from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver


class BlockedAddress(OSError):
    """The URL's host is, or resolves to, an address this endpoint may not reach."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_literal(host: str, allow_private: bool) -> None:
    """A host written as an IP address skips the resolver, so it is checked here."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return
    if not allow_private and not is_public(host.strip("[]")):
        raise BlockedAddress(f"{host} is not a public address")


class GuardedResolver(AbstractResolver):
    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[dict[str, Any]]:
        found = await self._inner.resolve(host, port, family)
        if self.allow_private:
            return found
        kept = [r for r in found if is_public(r["host"])]
        if not kept:
            raise BlockedAddress(f"{host} resolves only to private or reserved addresses")
        return kept

    async def close(self) -> None:
        await self._inner.close()
