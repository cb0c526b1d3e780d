"""Counters, histograms and gauges for /metrics, kept by prometheus-client; StatsD pushes.

Names follow Prometheus conventions (``commentd_<what>_total`` for counters, ``_seconds`` for
durations). Every metric lives in this module's own registries, never in prometheus-client's
global default one, so nothing else in the process can collide with them.

The request path calls ``Counter.add`` and ``Histogram.observe_key`` with a label tuple sorted
by name: each keeps the prometheus-client child of every label tuple it has seen, so an
increment is a dict lookup and the child's own update (``labels(...)`` costs about four times
that; tests/bench/bench_metrics.py).

One process keeps its values in memory (prometheus-client's single-process mode). Several
processes (``commentd serve --workers N``) share them through prometheus-client's
multiprocess mode: the parent calls ``use_directory`` before it forks, every value is then
written to an mmap'ed file per process in that directory, and whichever worker answers
/metrics sums them all (``MultiProcessCollector``). StatsD pushes go through the ``statsd``
package from a background thread (``StatsD``).
"""

from __future__ import annotations

import logging
import os
import resource
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import prometheus_client
import statsd as statsd_package
from prometheus_client import CollectorRegistry, generate_latest, multiprocess, values
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger("commentd.metrics")

Labels = tuple[tuple[str, str], ...]
"""A label set as ``(name, value)`` pairs sorted by name."""

DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
MEMORY_INTERVAL = 2.0
"""Seconds between two resident-memory readings a worker writes (multiprocess mode)."""

# /metrics has always shown counters and histograms without ``_created`` series; keep it so.
prometheus_client.disable_created_metrics()


def _labels(values: dict[str, str] | None) -> Labels:
    return tuple(sorted((values or {}).items()))


class _Metric:
    """One prometheus-client metric, made again (``make``) when the value mode changes."""

    kind: Any = None

    def __init__(self, name: str, help: str, labelnames: tuple[str, ...], **options: Any):
        self.name = name
        self.help = help
        self.labelnames = tuple(sorted(labelnames))
        self.options = options
        self.children: dict[Labels, Any] = {}
        self.make()
        _METRICS.append(self)

    def make(self) -> None:
        self.metric = self.kind(
            self.name, self.help, self.labelnames, registry=None, **self.options
        )
        self.children = {}

    def child(self, key: Labels) -> Any:
        """The prometheus-client child of ``key``, kept for the next call."""
        found = self.children.get(key)
        if found is None:
            found = self.metric.labels(**dict(key)) if key else self.metric
            self.children[key] = found
        return found

    def sample(self, suffix: str, labels: dict[str, str] | None) -> float:
        """One sample's value in this process (for tests and the CLI; not the fast path)."""
        wanted = {k: str(v) for k, v in (labels or {}).items()}
        for family in self.metric.collect():
            for sample in family.samples:
                if sample.name == family.name + suffix and sample.labels == wanted:
                    return sample.value
        return 0


class Counter(_Metric):
    """A count that only goes up, per label set.

    With ``statsd`` set (a name stem such as ``"votes"``), each increment is also pushed to
    the StatsD client given to ``push_to``, as ``<prefix>.<stem>.<label values...>``.
    """

    kind = prometheus_client.Counter

    def __init__(self, name: str, help: str, labelnames: tuple[str, ...] = (), statsd: str = ""):
        super().__init__(name, help, labelnames)
        self.statsd = statsd

    def inc(self, labels: dict[str, str] | None = None, amount: float = 1) -> None:
        self.add(_labels(labels), amount)

    def add(self, key: Labels, amount: float = 1) -> None:
        """``inc`` for a label tuple already sorted by name (the per-request fast path)."""
        found = self.children.get(key)
        (found if found is not None else self.child(key)).inc(amount)
        if self.statsd and _statsd is not None:
            _statsd.count(".".join([self.statsd, *(value for _, value in key)]), amount)

    def value(self, labels: dict[str, str] | None = None) -> float:
        return self.sample("_total", labels)


class Histogram(_Metric):
    """Observations counted into cumulative buckets, per label set."""

    kind = prometheus_client.Histogram

    def __init__(
        self,
        name: str,
        help: str,
        labelnames: tuple[str, ...] = (),
        buckets: tuple[float, ...] = DEFAULT_BUCKETS,
    ):
        super().__init__(name, help, labelnames, buckets=buckets)

    def observe(self, value: float, labels: dict[str, str] | None = None) -> None:
        self.observe_key(_labels(labels), value)

    def observe_key(self, key: Labels, value: float) -> None:
        """``observe`` for a label tuple already sorted by name (the per-request fast path)."""
        found = self.children.get(key)
        (found if found is not None else self.child(key)).observe(value)

    def count(self, labels: dict[str, str] | None = None) -> float:
        return self.sample("_count", labels)


class Fact(_Metric):
    """A fact about this process (a gauge it sets); ``mode`` says how several combine."""

    kind = prometheus_client.Gauge

    def __init__(self, name: str, help: str, mode: str):
        super().__init__(name, help, (), multiprocess_mode=mode)

    def set(self, value: float) -> None:
        self.metric.set(value)


class _Gauges:
    """The gauges read when /metrics is rendered: ``read()`` returns values per label set.

    They describe shared state (the outbox queue in the database), so they are not summed
    across processes: the process answering the scrape reads them. ``read`` may raise; the
    gauge is then left out of that scrape.
    """

    def __init__(self) -> None:
        self.read: dict[str, tuple[str, Callable[[], dict[Labels, float]]]] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, (help, read) in sorted(self.read.items()):
            try:
                found = read()
            except Exception:
                log.exception("metric %s could not be read", name)
                continue
            family = GaugeMetricFamily(
                name, help, labels=sorted({k for key in found for k, _ in key})
            )
            for key, value in sorted(found.items()):
                family.add_metric([v for _, v in key], value)
            yield family


class _Live:
    """Every metric's values in this process (single-process mode)."""

    def collect(self) -> Iterator[Any]:
        for metric in _METRICS:
            yield from metric.metric.collect()


_METRICS: list[_Metric] = []
_GAUGES = _Gauges()
_LIVE = CollectorRegistry(auto_describe=False)
_LIVE.register(_Live())
_LIVE.register(_GAUGES)
_exposed = _LIVE
"""The registry /metrics renders: ``_LIVE``, or the directory's sum after ``use_directory``."""
_directory: str | None = None


def gauge(name: str, help: str, read: Callable[[], dict[Labels, float]]) -> None:
    """Add (or replace: the newest app's database wins) a gauge read at render time."""
    _GAUGES.read[name] = (help, read)


def render() -> bytes:
    """The Prometheus text exposition (format 0.0.4) of every metric (of every process,
    after ``use_directory``)."""
    MEMORY.set(resident_memory())
    return generate_latest(_exposed)


def resident_memory() -> int:
    """This process's resident set size in bytes (its peak where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak * 1024  # kilobytes on Linux


def _this_process_serves() -> None:
    PROCESSES.set(1)
    STARTED.set(round(time.time(), 3))
    MEMORY.set(resident_memory())


# -- several processes --------------------------------------------------------------------


def use_directory(path: str | os.PathLike[str]) -> None:
    """Sum /metrics over every process forked from now on, through the directory ``path``.

    Call it in the parent before forking the workers (``commentd serve --workers N``) with a
    fresh directory private to one server. It turns prometheus-client's multiprocess mode on
    (``PROMETHEUS_MULTIPROC_DIR``) and makes every metric again in that mode; the parent
    itself serves nothing and does not count as a process. Each forked child then starts
    from zero, writes every change to its own files there, refreshes its resident memory
    every ``MEMORY_INTERVAL`` seconds from a daemon thread, and sums every process's files
    when it renders /metrics. The counts of a process that has exited stay in its files, so
    totals never go down when a worker is replaced; the parent calls ``process_ended`` for
    it, which drops its gauges. Starts no thread in the parent (forking a threaded process
    is unsafe).
    """
    global _exposed, _directory
    path = os.fspath(path)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path  # where prometheus-client writes its files
    if _directory is None:
        os.register_at_fork(after_in_child=_after_fork)
    _directory = path
    values.ValueClass = values.MultiProcessValue()
    for metric in _METRICS:
        metric.make()
    multiprocess.mark_process_dead(os.getpid(), path)  # the parent serves nothing
    registry = CollectorRegistry(auto_describe=False)
    multiprocess.MultiProcessCollector(registry, path)
    registry.register(_GAUGES)
    _exposed = registry


def process_ended(pid: int) -> None:
    """In the parent, once a child has exited: its gauges no longer count (its counts do)."""
    if _directory is not None:
        multiprocess.mark_process_dead(pid, _directory)


def _after_fork() -> None:
    _this_process_serves()
    threading.Thread(target=_refresh_memory, name="commentd-metrics", daemon=True).start()


def _refresh_memory() -> None:
    while True:
        time.sleep(MEMORY_INTERVAL)
        MEMORY.set(resident_memory())


# -- StatsD --------------------------------------------------------------------------------


class StatsD:
    """Pushes counts and timings to a StatsD server over UDP with the ``statsd`` package.

    ``count`` and ``timing`` only append to a bounded queue (a full queue drops the oldest):
    the package sends a datagram per call, about 4 us, which would double what measuring
    costs a request. A daemon thread, started on first use in each process, makes the
    package's client (which resolves the address) and sends the queue through its pipeline,
    in packets of at most ``MAX_PACKET`` bytes, every ``interval`` seconds. Nothing here
    raises into a request or waits on the network.
    """

    MAX_PACKET = 1400

    def __init__(self, address: str, prefix: str = "commentd", interval: float = 0.2):
        host, _, port = address.rpartition(":")
        self.host = host.strip("[]")
        self.port = int(port)
        self.prefix = prefix
        self.interval = interval
        self.queue: deque[tuple[str, str, float]] = deque(maxlen=10_000)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def count(self, name: str, amount: float = 1) -> None:
        self._put(("incr", name, amount))

    def timing(self, name: str, milliseconds: float) -> None:
        self._put(("timing", name, milliseconds))

    def _put(self, item: tuple[str, str, float]) -> None:
        self.queue.append(item)
        thread = self._thread
        if thread is None or not thread.is_alive():
            self._start()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="commentd-statsd", daemon=True
                )
                self._thread.start()

    def client(self) -> statsd_package.StatsClient:
        """The package's client: IPv4 unless the host is an IPv6 address or only has one."""
        try:
            return self._client(ipv6=":" in self.host)
        except OSError:
            if ":" in self.host:
                raise
            return self._client(ipv6=True)

    def _client(self, ipv6: bool) -> statsd_package.StatsClient:
        return statsd_package.StatsClient(
            self.host, self.port, prefix=self.prefix, maxudpsize=self.MAX_PACKET, ipv6=ipv6
        )

    def _run(self) -> None:
        client: statsd_package.StatsClient | None = None
        while True:
            time.sleep(self.interval)
            if not self.queue:
                continue
            try:
                if client is None:
                    client = self.client()
                self._flush(client)
            except (OSError, UnicodeError) as exc:
                log.warning("statsd %s:%s: %s", self.host, self.port, exc)
                self.queue.clear()
                if client is not None:
                    client.close()
                client = None

    def _flush(self, client: statsd_package.StatsClient) -> None:
        pipe = client.pipeline()
        while self.queue:
            method, name, value = self.queue.popleft()
            getattr(pipe, method)(name, value)
        pipe.send()


_statsd: StatsD | None = None


def push_to(client: StatsD | None) -> None:
    """Push counters that have a StatsD stem to ``client`` from now on (``None``: stop)."""
    global _statsd
    _statsd = client


def statsd() -> StatsD | None:
    """The StatsD client counters push to, if any."""
    return _statsd


COMMENTS_CREATED = Counter(
    "commentd_comments_created_total",
    "New comments stored, by the status they got.",
    ("status",),
    statsd="comments_created",
)
VOTES = Counter(
    "commentd_votes_total", "Votes cast, changed or withdrawn.", ("value",), statsd="votes"
)
REPORTS = Counter(
    "commentd_reports_total",
    "Readers' reports of comments, by reason.",
    ("reason",),
    statsd="reports",
)
CHALLENGES = Counter(
    "commentd_challenges_total",
    "Proof-of-work challenges issued, and the solutions posted by result: solved, missing, "
    "invalid, expired, reused or too_easy.",
    ("result",),
    statsd="challenges",
)
CACHE = Counter(
    "commentd_cache_total",
    "Thread reads and counts by how they were answered: hit, miss or not_modified.",
    ("result",),
)
DATABASE_ERRORS = Counter(
    "commentd_database_errors_total", "Requests that failed because the database did."
)
OUTBOX = Counter(
    "commentd_outbox_total",
    "Mail and webhook deliveries, by kind and outcome (sent, failed).",
    ("kind", "outcome"),
)
WEBMENTIONS = Counter(
    "commentd_webmentions_total",
    "Webmentions by outcome: received (queued by POST /webmention), then verified, rejected "
    "or deleted.",
    ("outcome",),
    statsd="webmentions",
)
FEDIVERSE_ACTIVITIES = Counter(
    "commentd_fediverse_activities_total",
    "Activities posted to the Fediverse inbox, by type (Follow, Create, Like...; other for the "
    "rest) and outcome: done, ignored (nothing of ours), refused (a bad signature, a banned "
    "instance, a refused comment).",
    ("type", "outcome"),
    statsd="fediverse.activities",
)
FEDIVERSE_DELIVERIES = Counter(
    "commentd_fediverse_deliveries_total",
    "Deliveries of the account's activities to other servers' inboxes: delivered, retry "
    "(to be tried again) or refused (a 4xx answer: given up).",
    ("outcome",),
    statsd="fediverse.deliveries",
)
SCREENING_CATCHES = Counter(
    "commentd_screening_catches_total",
    "New comments a screening signal caught, by signal and action (spam, hold, refuse).",
    ("action", "signal"),
    statsd="screening_catches",
)
FILTER_DECISIONS = Counter(
    "commentd_filter_decisions_total",
    "New comments the spam filter scored, by decision: pass, hold, spam, or silent (not "
    "trained on enough of each class yet).",
    ("decision",),
    statsd="filter_decisions",
)
FILTER_TRAINED = Counter(
    "commentd_filter_trained_total",
    "Comments the spam filter was trained with, by class (spam, ham).",
    ("label",),
)
HTTP_REQUESTS = Counter(
    "commentd_http_requests_total",
    "HTTP requests answered, by route rule (unmatched when none), method and status.",
    ("method", "route", "status"),
)
HTTP_DURATION = Histogram(
    "commentd_http_request_duration_seconds",
    "Time to answer an HTTP request, by route rule and method.",
    ("method", "route"),
)
PROCESSES = Fact(
    "commentd_processes", "Processes serving this site that report metrics.", "livesum"
)
STARTED = Fact(
    "commentd_process_start_time_seconds", "When the oldest process started (Unix).", "livemin"
)
MEMORY = Fact(
    "commentd_process_resident_memory_bytes", "Resident memory, all processes.", "livesum"
)

_this_process_serves()
