"""The per-process response cache (a byte-bounded LRU of rendered bodies) and the memo."""

from __future__ import annotations

import threading

from commentd.services.cache import ENTRY_OVERHEAD, Memo, ResponseCache, entry_size, key_size


def key(name: str, version: int = 1) -> tuple:
    return ("thread", name, 1, version, None, False, "oldest", 50, None)


def test_get_returns_what_put_stored_and_misses_are_none():
    cache = ResponseCache(10_000)
    cache.put(key("/a/"), b"A")
    assert cache.get(key("/a/")) == b"A"
    assert cache.get(key("/a/", version=2)) is None
    assert cache.get(key("/b/")) is None


def test_the_least_recently_used_entry_goes_first():
    body = b"x" * 100
    size = entry_size(key("/a/"), body)
    cache = ResponseCache(size * 3)
    for name in ("/a/", "/b/", "/c/"):
        cache.put(key(name), body)
    assert cache.get(key("/a/")) == body  # /a/ is now the most recently used
    cache.put(key("/d/"), body)
    assert cache.get(key("/b/")) is None
    assert [cache.get(key(n)) is not None for n in ("/a/", "/c/", "/d/")] == [True] * 3
    assert len(cache) == 3
    assert cache.size == size * 3 <= cache.max_bytes


def test_size_stays_under_the_limit_with_bodies_of_every_size():
    cache = ResponseCache(5_000)
    for i in range(200):
        cache.put(key(f"/{i}/"), b"y" * (i * 37 % 2_000))
        assert cache.size <= 5_000
    assert cache.size == sum(entry_size(k, v) for k, (v, _) in cache._entries.items())


def test_replacing_an_entry_does_not_count_it_twice():
    cache = ResponseCache(10_000)
    cache.put(key("/a/"), b"1" * 500)
    cache.put(key("/a/"), b"2" * 100)
    assert len(cache) == 1
    assert cache.size == entry_size(key("/a/"), b"2" * 100)


def test_a_body_larger_than_the_cache_is_not_stored_and_evicts_nothing():
    cache = ResponseCache(ENTRY_OVERHEAD + 200)
    cache.put(key("/small/"), b"s")
    cache.put(key("/huge/"), b"h" * 10_000)
    assert cache.get(key("/huge/")) is None
    assert cache.get(key("/small/")) == b"s"


def test_memory_0_turns_the_cache_off():
    cache = ResponseCache(0)
    assert not cache.enabled
    cache.put(key("/a/"), b"")
    assert cache.get(key("/a/")) is None
    assert len(cache) == 0


def test_concurrent_use_keeps_the_accounting_right():
    cache = ResponseCache(20_000)

    def work(offset: int) -> None:
        for i in range(500):
            cache.put(key(f"/{(i + offset) % 60}/"), b"z" * (i % 300))
            cache.get(key(f"/{i % 60}/"))

    threads = [threading.Thread(target=work, args=(n * 7,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.size <= 20_000
    assert cache.size == sum(size for _, size in cache._entries.values())


def test_a_memo_computes_each_key_once():
    memo = Memo(max_entries=10, max_key_size=100)
    computed = []

    def compute(value):
        computed.append(value)
        return value.upper()

    assert memo.get("a", lambda: compute("a")) == "A"
    assert memo.get("a", lambda: compute("again")) == "A"
    assert computed == ["a"]


def test_a_memo_keeps_no_long_key_and_empties_itself_when_full():
    memo = Memo(max_entries=3, max_key_size=10)
    long_key = "x" * 11
    assert memo.get(long_key, lambda: 1) == 1
    assert memo.get(("k", long_key), lambda: 2) == 2
    assert len(memo) == 0
    for n in range(3):
        memo.get(f"k{n}", lambda n=n: n)
    assert len(memo) == 3
    assert memo.get("k3", lambda: 3) == 3
    assert len(memo) == 1


def test_key_size_counts_the_strings_of_nested_keys():
    assert key_size(("counts", ("/a/", 1, 2), ("/bb/", 3, 4))) == len("counts/a//bb/")


def test_a_new_version_replaces_the_one_before_it_in_its_family():
    cache = ResponseCache(100_000)
    page = ("thread", "/a/", "oldest", 20, None)
    cache.put(("thread", "/a/", 1, 1), b"v1", page)
    cache.put(("thread", "/b/", 2, 1), b"other", ("thread", "/b/", "oldest", 20, None))
    cache.put(("thread", "/a/", 1, 2), b"v2", page)
    assert cache.get(("thread", "/a/", 1, 1)) is None  # nobody asks for version 1 again
    assert cache.get(("thread", "/a/", 1, 2)) == b"v2"
    assert cache.get(("thread", "/b/", 2, 1)) == b"other"
    assert len(cache) == 2
    assert cache.size == entry_size(("thread", "/a/", 1, 2), b"v2") + entry_size(
        ("thread", "/b/", 2, 1), b"other"
    )


def test_family_links_go_with_evicted_entries():
    cache = ResponseCache(2 * (ENTRY_OVERHEAD + 110))
    for n in range(50):
        cache.put(("k", n), b"x" * 100, ("family", n))
    assert len(cache) == 2
    assert len(cache._latest) == len(cache._family_of) == 2
    cache.clear()
    assert (len(cache), cache.size, len(cache._latest)) == (0, 0, 0)
