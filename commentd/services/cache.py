"""A per-process cache of rendered thread pages: a byte-bounded LRU of JSON bodies.

Keys carry the thread's version (and everything else a page depends on), so an entry is never
stale: a change bumps the version, later reads ask for a new key, and the old entry ages out
as the least recently used. Nothing is ever invalidated by hand, and processes share nothing.
Thread-safe: waitress answers requests on several threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

# What an entry costs beyond its body: the key tuple, its strings, the dict slot.
ENTRY_OVERHEAD = 256


def entry_size(key: Hashable, body: bytes) -> int:
    """The bytes an entry is charged: its body, its key's strings and a fixed overhead."""
    strings = key if isinstance(key, tuple) else (key,)
    return len(body) + ENTRY_OVERHEAD + sum(len(part) for part in strings if isinstance(part, str))


class ResponseCache:
    """At most ``max_bytes`` of bodies, least recently used dropped first; 0 stores nothing."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[Hashable, tuple[bytes, int]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> bytes | None:
        """The body stored under ``key``, now the most recently used; None if absent."""
        if not self.enabled:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, body: bytes) -> None:
        """Store ``body``, dropping the least recently used entries to stay under the limit.

        A body larger than the whole cache is not stored.
        """
        size = entry_size(key, body)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= old[1]
            self._entries[key] = (body, size)
            self.size += size
            while self.size > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.size -= dropped

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.size = 0
