"""Counters, histograms and gauges for /metrics (Prometheus text format), in process memory.

Cheap enough for every request: an increment is a dict update under a lock. Names follow
Prometheus conventions (``commentd_<what>_total`` for counters, ``_seconds`` for durations).

Several processes (``commentd serve --workers N``) each count their own requests; with a spool
directory (``use_spool``) each writes its snapshot there and /metrics sums them all, so any
worker answers for the whole server. Counters can also be pushed to StatsD (``StatsD``).
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import json
import logging
import os
import resource
import socket
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from commentd.services.validation import whole_number

log = logging.getLogger("commentd.metrics")

Labels = tuple[tuple[str, str], ...]

DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
SPOOL_INTERVAL = 2.0
"""Seconds between two snapshots a process writes to the spool directory."""
RETIRED = "retired.json"


def _labels(values: dict[str, str] | None) -> Labels:
    return tuple(sorted((values or {}).items()))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _format_labels(labels: Labels, extra: Iterable[tuple[str, str]] = ()) -> str:
    pairs = [*labels, *extra]
    if not pairs:
        return ""
    return "{" + ",".join(f'{key}="{_escape(value)}"' for key, value in pairs) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _key(labels: Labels) -> list[list[str]]:
    return [list(pair) for pair in labels]


def _unkey(pairs: list[list[str]]) -> Labels:
    return tuple((str(k), str(v)) for k, v in pairs)


@dataclass
class Counter:
    """A count that only goes up, per label set.

    With ``statsd`` set (a name stem such as ``"votes"``), each increment is also pushed to
    the StatsD client given to ``push_to``, as ``<prefix>.<stem>.<label values...>``.
    """

    name: str
    help: str
    values: dict[Labels, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    statsd: str = ""

    def inc(self, labels: dict[str, str] | None = None, amount: float = 1) -> None:
        self.add(_labels(labels), amount)

    def add(self, key: Labels, amount: float = 1) -> None:
        """``inc`` for a label tuple already sorted by name (the per-request fast path)."""
        with self.lock:
            self.values[key] = self.values.get(key, 0) + amount
        if self.statsd and _statsd is not None:
            _statsd.count(".".join([self.statsd, *(value for _, value in key)]), amount)

    def value(self, labels: dict[str, str] | None = None) -> float:
        return self.values.get(_labels(labels), 0)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"values": [[_key(k), v] for k, v in self.values.items()]}

    def merge(self, data: dict[str, Any], into: dict[Labels, Any]) -> None:
        for pairs, value in data["values"]:
            key = _unkey(pairs)
            into[key] = into.get(key, 0) + value

    def reset(self) -> None:
        self.lock = threading.Lock()
        self.values.clear()

    def render(self, extra: Sequence[dict[str, Any]] = ()) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        merged = dict(self.snapshot_values())
        for data in extra:
            self.merge(data, merged)
        lines += [f"{self.name}{_format_labels(k)} {_number(v)}" for k, v in sorted(merged.items())]
        return lines

    def snapshot_values(self) -> dict[Labels, float]:
        with self.lock:
            return dict(self.values)


@dataclass
class Histogram:
    """Observations counted into cumulative buckets, per label set."""

    name: str
    help: str
    buckets: tuple[float, ...] = DEFAULT_BUCKETS
    counts: dict[Labels, list[int]] = field(default_factory=dict)
    sums: dict[Labels, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def observe(self, value: float, labels: dict[str, str] | None = None) -> None:
        self.observe_key(_labels(labels), value)

    def observe_key(self, key: Labels, value: float) -> None:
        """``observe`` for a label tuple already sorted by name (the per-request fast path)."""
        index = bisect.bisect_left(self.buckets, value)
        with self.lock:
            counts = self.counts.get(key)
            if counts is None:
                counts = self.counts[key] = [0] * (len(self.buckets) + 1)
            counts[index] += 1
            self.sums[key] = self.sums.get(key, 0.0) + value

    def count(self, labels: dict[str, str] | None = None) -> int:
        return sum(self.counts.get(_labels(labels), []))

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "buckets": list(self.buckets),
                "values": [[_key(k), list(v), self.sums[k]] for k, v in self.counts.items()],
            }

    def merge(self, data: dict[str, Any], into: dict[Labels, Any]) -> None:
        if tuple(data.get("buckets", ())) != self.buckets:
            return  # another version's buckets cannot be added up; skip them
        for pairs, counts, total in data["values"]:
            key = _unkey(pairs)
            mine = into.setdefault(key, ([0] * (len(self.buckets) + 1), [0.0]))
            for index, count in enumerate(counts):
                mine[0][index] += count
            mine[1][0] += total

    def reset(self) -> None:
        self.lock = threading.Lock()
        self.counts.clear()
        self.sums.clear()

    def render(self, extra: Sequence[dict[str, Any]] = ()) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        merged: dict[Labels, Any] = {}
        self.merge(self.snapshot(), merged)
        for data in extra:
            self.merge(data, merged)
        for key, (counts, total) in sorted(merged.items()):
            running = 0
            for bound, count in zip((*self.buckets, float("inf")), counts, strict=True):
                running += count
                le = "+Inf" if bound == float("inf") else _number(bound)
                lines.append(f"{self.name}_bucket{_format_labels(key, [('le', le)])} {running}")
            lines.append(f"{self.name}_sum{_format_labels(key)} {_number(total[0])}")
            lines.append(f"{self.name}_count{_format_labels(key)} {running}")
        return lines


@dataclass
class Gauge:
    """A value read when /metrics is rendered: ``read()`` returns it per label set.

    Gauges describe shared state (the outbox queue in the database), so they are not summed
    across processes: the process answering the scrape reads them. ``read`` may raise; the
    gauge is then left out of that scrape.
    """

    name: str
    help: str
    read: Callable[[], dict[Labels, float]]

    def render(self, extra: Sequence[dict[str, Any]] = ()) -> list[str]:
        try:
            values = self.read()
        except Exception:
            log.exception("metric %s could not be read", self.name)
            return []
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} gauge"]
        lines += [f"{self.name}{_format_labels(k)} {_number(v)}" for k, v in sorted(values.items())]
        return lines


def resident_memory() -> int:
    """This process's resident set size in bytes (its peak where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak * 1024  # kilobytes on Linux


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Registry:
    """Every metric of this process, by name; with a spool, the sum over every process."""

    def __init__(self) -> None:
        self.metrics: dict[str, Counter | Histogram | Gauge] = {}
        self.lock = threading.Lock()
        self.started = time.time()
        self.spool: Path | None = None
        self.pid = os.getpid()
        self._writer: threading.Thread | None = None

    def counter(self, name: str, help: str, statsd: str = "") -> Counter:
        with self.lock:
            metric = self.metrics.setdefault(name, Counter(name, help, statsd=statsd))
        assert isinstance(metric, Counter)
        return metric

    def histogram(self, name: str, help: str, buckets: tuple[float, ...] = DEFAULT_BUCKETS):
        with self.lock:
            metric = self.metrics.setdefault(name, Histogram(name, help, buckets))
        assert isinstance(metric, Histogram)
        return metric

    def gauge(self, name: str, help: str, read: Callable[[], dict[Labels, float]]) -> Gauge:
        """Add (or replace: the newest app's database wins) a gauge read at render time."""
        with self.lock:
            metric = self.metrics[name] = Gauge(name, help, read)
        return metric

    # -- several processes ----------------------------------------------------------------

    def use_spool(self, path: str | os.PathLike[str], *, writer: bool = True) -> None:
        """Share counts with the other processes that use the directory ``path``.

        Each process writes its snapshot to ``<path>/<pid>.json`` (atomically, by rename)
        every ``SPOOL_INTERVAL`` seconds from a daemon thread (``writer``) and whenever it
        renders; a render sums its own live values, the snapshots of the other live
        processes, and ``retired.json``, where the counts of processes that have exited are
        folded in so that the totals never go down when a worker is replaced.
        """
        self.spool = Path(path)
        self.spool.mkdir(parents=True, exist_ok=True)
        if writer:
            self._start_writer()

    def _start_writer(self) -> None:
        if self._writer is not None and self._writer.is_alive():
            return
        self._writer = threading.Thread(
            target=self._write_loop, name="commentd-metrics", daemon=True
        )
        self._writer.start()

    def _write_loop(self) -> None:
        while True:
            time.sleep(SPOOL_INTERVAL)
            self.write_snapshot()

    def after_fork(self) -> None:
        """In a forked child: count from zero under the new pid, with a writer of its own."""
        self.pid = os.getpid()
        self.started = time.time()
        self.lock = threading.Lock()
        for metric in self.metrics.values():
            if not isinstance(metric, Gauge):
                metric.reset()
        self._writer = None
        if self.spool is not None:
            self._start_writer()

    def snapshot(self) -> dict[str, Any]:
        """This process's counts and facts, as written to the spool."""
        return {
            "pid": self.pid,
            "started": self.started,
            "resident_memory": resident_memory(),
            "metrics": {
                name: metric.snapshot()
                for name, metric in list(self.metrics.items())
                if not isinstance(metric, Gauge)
            },
        }

    def write_snapshot(self) -> None:
        """Write this process's snapshot to the spool now (nothing without a spool)."""
        if self.spool is None:
            return
        try:
            _write_json(self.spool / f"{self.pid}.json", self.snapshot())
        except OSError:
            log.exception("cannot write the metrics snapshot to %s", self.spool)

    def _others(self) -> list[dict[str, Any]]:
        """The snapshots of the other live processes and the retired counts."""
        if self.spool is None:
            return []
        self.write_snapshot()
        found: list[dict[str, Any]] = []
        with open(self.spool / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            retired = _read_json(self.spool / RETIRED) or {"metrics": {}}
            changed = False
            for path in self.spool.glob("*.json"):
                pid = whole_number(path.stem, max_digits=10)
                if pid is None or pid == self.pid:
                    continue
                data = _read_json(path)
                if data is None:
                    continue
                if _pid_alive(pid):
                    found.append(data)
                    continue
                _fold(retired["metrics"], data["metrics"], self.metrics)
                path.unlink(missing_ok=True)
                changed = True
            if changed:
                _write_json(self.spool / RETIRED, retired)
        if retired["metrics"]:
            found.append({"metrics": retired["metrics"]})
        return found

    # -- the exposition -------------------------------------------------------------------

    def render(self) -> str:
        """The Prometheus text exposition of every metric (of every process, with a spool)."""
        others = self._others()
        lines: list[str] = []
        for name in sorted(self.metrics):
            metric = self.metrics[name]
            extra = [data["metrics"][name] for data in others if name in data["metrics"]]
            lines += metric.render(extra)
        lines += self._process_lines([data for data in others if "pid" in data])
        return "\n".join(lines) + "\n"

    def _process_lines(self, others: list[dict[str, Any]]) -> list[str]:
        started = min([self.started, *(data["started"] for data in others)])
        memory = resident_memory() + sum(data["resident_memory"] for data in others)
        return [
            "# HELP commentd_processes Processes serving this site that report metrics.",
            "# TYPE commentd_processes gauge",
            f"commentd_processes {1 + len(others)}",
            "# HELP commentd_process_start_time_seconds When the oldest process started (Unix).",
            "# TYPE commentd_process_start_time_seconds gauge",
            f"commentd_process_start_time_seconds {_number(round(started, 3))}",
            "# HELP commentd_process_resident_memory_bytes Resident memory, all processes.",
            "# TYPE commentd_process_resident_memory_bytes gauge",
            f"commentd_process_resident_memory_bytes {memory}",
        ]


def _fold(into: dict[str, Any], data: dict[str, Any], metrics: dict[str, Any]) -> None:
    """Add one snapshot's counts to ``into`` (the retired counts), metric by metric."""
    for name, snap in data.items():
        metric = metrics.get(name)
        if metric is None or isinstance(metric, Gauge):
            continue
        merged: dict[Labels, Any] = {}
        if name in into:
            metric.merge(into[name], merged)
        metric.merge(snap, merged)
        if isinstance(metric, Histogram):
            values = [[_key(k), counts, total[0]] for k, (counts, total) in merged.items()]
            into[name] = {"buckets": list(metric.buckets), "values": values}
        else:
            into[name] = {"values": [[_key(k), v] for k, v in merged.items()]}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, separators=(",", ":"))
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("metrics"), dict) else None


# -- StatsD --------------------------------------------------------------------------------


class StatsD:
    """Pushes counts and timings to a StatsD server over UDP, fire and forget.

    ``count`` and ``timing`` only append to a bounded queue (a full queue drops the oldest);
    a daemon thread, started on first use in each process, resolves the address and sends
    the queue in packets of at most ``MAX_PACKET`` bytes every ``interval`` seconds. Nothing
    here raises into a request or waits on the network.
    """

    MAX_PACKET = 1400

    def __init__(self, address: str, prefix: str = "commentd", interval: float = 0.2):
        host, _, port = address.rpartition(":")
        self.host = host.strip("[]")
        self.port = int(port)
        self.prefix = prefix
        self.interval = interval
        self.queue: deque[str] = deque(maxlen=10_000)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def count(self, name: str, amount: float = 1) -> None:
        self._put(f"{self.prefix}.{name}:{_number(amount)}|c")

    def timing(self, name: str, milliseconds: float) -> None:
        self._put(f"{self.prefix}.{name}:{milliseconds:.3f}|ms")

    def _put(self, line: str) -> None:
        self.queue.append(line)
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

    def _run(self) -> None:
        sock: socket.socket | None = None
        target: Any = None
        while True:
            time.sleep(self.interval)
            if not self.queue:
                continue
            try:
                if sock is None:
                    info = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)[0]
                    sock = socket.socket(info[0], socket.SOCK_DGRAM)
                    sock.setblocking(False)
                    target = info[4]
                self._flush(sock, target)
            except OSError as exc:
                log.warning("statsd %s:%s: %s", self.host, self.port, exc)
                self.queue.clear()
                if sock is not None:
                    sock.close()
                sock = None

    def _flush(self, sock: socket.socket, target: Any) -> None:
        packet: list[str] = []
        size = 0
        while self.queue:
            line = self.queue.popleft()
            if packet and size + len(line) + 1 > self.MAX_PACKET:
                sock.sendto("\n".join(packet).encode(), target)
                packet, size = [], 0
            packet.append(line)
            size += len(line) + 1
        if packet:
            sock.sendto("\n".join(packet).encode(), target)


_statsd: StatsD | None = None


def push_to(client: StatsD | None) -> None:
    """Push counters that have a StatsD stem to ``client`` from now on (``None``: stop)."""
    global _statsd
    _statsd = client


def statsd() -> StatsD | None:
    """The StatsD client counters push to, if any."""
    return _statsd


REGISTRY = Registry()
"""The process's registry: services count into it, /metrics renders it."""

_after_fork_registered = False


def use_spool(path: str | os.PathLike[str]) -> None:
    """Aggregate /metrics over several processes through the spool directory ``path``.

    Call it in the parent before forking the workers (``commentd serve --workers N``): it
    starts no thread in the parent (forking a threaded process is unsafe); each forked child
    resets its counts, writes ``<path>/<pid>.json`` every ``SPOOL_INTERVAL`` seconds and on
    every render, and sums every live process's snapshot when it renders /metrics. A worker
    should call ``flush()`` as it exits, or it loses what it counted since its last write.
    The directory should be private to one server (e.g. a fresh temporary directory).
    """
    global _after_fork_registered
    REGISTRY.use_spool(path, writer=False)
    if not _after_fork_registered:
        os.register_at_fork(after_in_child=REGISTRY.after_fork)
        _after_fork_registered = True


def flush() -> None:
    """Write this process's snapshot to the spool now: call it as a worker exits, so that
    its last counts are not lost (without a spool it does nothing)."""
    REGISTRY.write_snapshot()


COMMENTS_CREATED = REGISTRY.counter(
    "commentd_comments_created_total",
    "New comments stored, by the status they got.",
    statsd="comments_created",
)
VOTES = REGISTRY.counter(
    "commentd_votes_total", "Votes cast, changed or withdrawn.", statsd="votes"
)
CACHE = REGISTRY.counter(
    "commentd_cache_total",
    "Thread reads and counts by how they were answered: hit, miss or not_modified.",
)
DATABASE_ERRORS = REGISTRY.counter(
    "commentd_database_errors_total", "Requests that failed because the database did."
)
OUTBOX = REGISTRY.counter(
    "commentd_outbox_total", "Mail and webhook deliveries, by kind and outcome (sent, failed)."
)
HTTP_REQUESTS = REGISTRY.counter(
    "commentd_http_requests_total",
    "HTTP requests answered, by route rule (unmatched when none), method and status.",
)
HTTP_DURATION = REGISTRY.histogram(
    "commentd_http_request_duration_seconds",
    "Time to answer an HTTP request, by route rule and method.",
)
