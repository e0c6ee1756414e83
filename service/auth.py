"""API keys as the API and the relay both check them: sha256 digests only, each lookup compared
with every digest in constant time (`hmac.compare_digest`, no early exit), so the time taken
does not depend on which key matched or how much of it did. Keys are never logged."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


class KeyRing:
    """The configured keys as sha256 digests -> clientId; lookups in constant time."""

    def __init__(self, api_keys: Mapping[str, str]) -> None:
        self._entries: tuple[tuple[bytes, str], ...] = tuple(
            (hashlib.sha256(key.encode()).digest(), client) for key, client in api_keys.items()
        )

    def __bool__(self) -> bool:
        return bool(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def client_for(self, key: str) -> str | None:
        """The clientId bound to `key`, or None. Compares against every entry."""
        given = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        found: str | None = None
        for digest, client in self._entries:
            if hmac.compare_digest(given, digest):
                found = client
        return found
