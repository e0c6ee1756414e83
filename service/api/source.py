"""Who sent a request, for the limits per source address: the socket's peer, or, when the
peer is one of TRUSTED_PROXIES (the compose front, say), the last hop that proxy added to
`X-Forwarded-For`. A header from any other peer is ignored, so a client can't pick its own
address."""

from __future__ import annotations

import ipaddress

import falcon


class SourceResolver:
    def __init__(self, trusted: tuple[str, ...]) -> None:
        self.networks = tuple(ipaddress.ip_network(n, strict=False) for n in trusted)

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.networks)

    def __call__(self, req: falcon.Request) -> str:
        peer = req.remote_addr or "unknown"
        if not self.networks or not self._trusted(peer):
            return peer
        hops = (req.get_header("X-Forwarded-For") or "").split(",")
        last = hops[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            return peer
