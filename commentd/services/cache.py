"""Per-process caches: rendered thread pages (a byte-bounded LRU of bodies), memoized
values, and database reads kept until the database changes.

In the response cache, keys carry the thread's version (and everything else a page depends
on), so an entry is never stale: a change bumps the version, later reads ask for a new key,
and the old entry ages out as the least recently used. Nothing is ever invalidated by hand.
``Recall`` keeps a read only while the database's change signal reads as it did (see
``storage.database.ChangeSignal``). Thread-safe: waitress answers requests on several threads.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sized
from typing import Any, Generic, TypeVar

from commentd.storage.database import change_token

K = TypeVar("K")  # what a bounded dict keeps
V = TypeVar("V")

# What an entry costs beyond its body: the key tuple, its strings, the dict slot.
ENTRY_OVERHEAD = 256


def key_size(key: Hashable) -> int:
    """The characters of a key's strings (a string, or a tuple of parts and of tuples)."""
    if isinstance(key, str):
        return len(key)
    if isinstance(key, tuple):
        return sum(key_size(part) for part in key)
    return 0


def entry_size(key: Hashable, body: Sized) -> int:
    """The bytes an entry is charged: its body, its key's strings and a fixed overhead."""
    return len(body) + ENTRY_OVERHEAD + key_size(key)


class ResponseCache:
    """At most ``max_bytes`` of bodies, least recently used dropped first; 0 stores nothing.

    A body is anything whose ``len()`` is the bytes it holds: ``bytes``, or the web layer's
    plain-and-gzipped pair.

    An entry may name its ``family``: its key without the version (the same page of the same
    thread). A new entry of a family replaces the one before it, which no reader asks for
    again once the version moved on, so a busy thread's old versions do not fill the cache.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[Hashable, tuple[Sized, int]] = OrderedDict()
        self._family_of: dict[Hashable, Hashable] = {}
        self._latest: dict[Hashable, Hashable] = {}  # family -> its newest key
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Any:
        """The body stored under ``key``, now the most recently used; None if absent."""
        if not self.enabled:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, body: Sized, family: Hashable | None = None) -> None:
        """Store ``body``, dropping the entry it supersedes in ``family`` (if any) and the least
        recently used entries to stay under the limit.

        A body larger than the whole cache is not stored.
        """
        size = entry_size(key, body)
        if size > self.max_bytes:
            return
        with self._lock:
            self._drop(key)
            if family is not None:
                superseded = self._latest.get(family)
                if superseded is not None:
                    self._drop(superseded)
                self._latest[family] = key
                self._family_of[key] = family
            self._entries[key] = (body, size)
            self.size += size
            while self.size > self.max_bytes:
                self._drop(next(iter(self._entries)))

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.size -= entry[1]
        family = self._family_of.pop(key, None)
        if family is not None and self._latest.get(family) == key:
            del self._latest[family]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._family_of.clear()
            self._latest.clear()
            self.size = 0


# Values kept per process for keys that come from clients (ETags, parsed query strings,
# thread versions): at most 2,000 keys of at most 2,048 characters per memo, about 4 MB in
# the worst case, a few hundred KB in practice.
MEMO_ENTRIES, MEMO_KEY_SIZE = 2_000, 2_048


class _Bounded(Generic[K]):
    """A dict bounded twice, as keys come from clients: keys over ``max_key_size`` characters
    are not kept, and when ``max_entries`` are kept all are dropped at once (which entries
    survive matters less than the bound). Dict operations are atomic: no lock needed."""

    def __init__(self, max_entries: int, max_key_size: int):
        self.max_entries = max_entries
        self.max_key_size = max_key_size
        self._values: dict[Hashable, K] = {}

    def __len__(self) -> int:
        return len(self._values)

    def _keep(self, key: Hashable, value: K) -> None:
        if key_size(key) <= self.max_key_size:
            if len(self._values) >= self.max_entries:
                self._values.clear()
            self._values[key] = value


class Memo(_Bounded[V]):
    """Values that are cheap to recompute but asked for on every request (an ETag, a parsed
    query string), kept for good, bounded (see ``_Bounded``)."""

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The value for ``key``, computed by ``compute()`` the first time (and every time,
        for a key too long to keep)."""
        value = self._values.get(key)
        if value is None:
            value = compute()
            self._keep(key, value)
        return value


class Recall(_Bounded[tuple[bytes, float, V]]):
    """Database reads kept while the database has not changed: each value is kept with the
    database's change token (``storage.database.change_token``) read before it was computed,
    and served while the token reads the same, for at most ``max_age`` seconds (which bounds
    how long a write made outside commentd goes unseen). With no token (PostgreSQL), nothing
    is kept. Bounded like ``Memo``."""

    def __init__(self, max_entries: int, max_key_size: int, max_age: float):
        super().__init__(max_entries, max_key_size)
        self.max_age = max_age

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        """``compute()``'s value for ``key``, from memory if nothing was committed since."""
        token = change_token()  # before the read: a commit after it changes the token
        if token is None:
            return compute()
        now = time.monotonic()
        kept = self._values.get(key)
        if kept is not None and kept[0] == token and kept[1] > now:
            return kept[2]
        value = compute()
        self._keep(key, (token, now + self.max_age, value))
        return value
