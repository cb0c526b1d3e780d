"""Counters and histograms for /metrics (Prometheus text format), kept in process memory.

Cheap enough for every request: an increment is a dict update under a lock. Names follow
Prometheus conventions (``commentd_<what>_total`` for counters, ``_seconds`` for durations).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

Labels = tuple[tuple[str, str], ...]

DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


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


@dataclass
class Counter:
    """A count that only goes up, per label set."""

    name: str
    help: str
    values: dict[Labels, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def inc(self, labels: dict[str, str] | None = None, amount: float = 1) -> None:
        key = _labels(labels)
        with self.lock:
            self.values[key] = self.values.get(key, 0) + amount

    def value(self, labels: dict[str, str] | None = None) -> float:
        return self.values.get(_labels(labels), 0)

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        with self.lock:
            items = sorted(self.values.items())
        lines += [f"{self.name}{_format_labels(k)} {_number(v)}" for k, v in items]
        return lines


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
        key = _labels(labels)
        with self.lock:
            counts = self.counts.setdefault(key, [0] * (len(self.buckets) + 1))
            for index, bound in enumerate(self.buckets):
                if value <= bound:
                    counts[index] += 1
                    break
            else:
                counts[-1] += 1
            self.sums[key] = self.sums.get(key, 0.0) + value

    def count(self, labels: dict[str, str] | None = None) -> int:
        return sum(self.counts.get(_labels(labels), []))

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        with self.lock:
            items = sorted((k, list(v), self.sums[k]) for k, v in self.counts.items())
        for key, counts, total in items:
            running = 0
            for bound, count in zip((*self.buckets, float("inf")), counts, strict=True):
                running += count
                le = "+Inf" if bound == float("inf") else _number(bound)
                lines.append(f"{self.name}_bucket{_format_labels(key, [('le', le)])} {running}")
            lines.append(f"{self.name}_sum{_format_labels(key)} {_number(total)}")
            lines.append(f"{self.name}_count{_format_labels(key)} {running}")
        return lines


class Registry:
    """Every metric of this process, by name."""

    def __init__(self) -> None:
        self.metrics: dict[str, Counter | Histogram] = {}
        self.lock = threading.Lock()

    def counter(self, name: str, help: str) -> Counter:
        with self.lock:
            metric = self.metrics.setdefault(name, Counter(name, help))
        assert isinstance(metric, Counter)
        return metric

    def histogram(self, name: str, help: str, buckets: tuple[float, ...] = DEFAULT_BUCKETS):
        with self.lock:
            metric = self.metrics.setdefault(name, Histogram(name, help, buckets))
        assert isinstance(metric, Histogram)
        return metric

    def render(self) -> str:
        """The Prometheus text exposition of every metric."""
        lines: list[str] = []
        for name in sorted(self.metrics):
            lines += self.metrics[name].render()
        return "\n".join(lines) + "\n"


REGISTRY = Registry()
"""The process's registry: services count into it, /metrics renders it."""

COMMENTS_CREATED = REGISTRY.counter(
    "commentd_comments_created_total", "New comments stored, by the status they got."
)
VOTES = REGISTRY.counter("commentd_votes_total", "Votes cast, changed or withdrawn.")
CACHE = REGISTRY.counter(
    "commentd_cache_total", "Thread reads by how they were answered: hit, miss or not_modified."
)
DATABASE_ERRORS = REGISTRY.counter(
    "commentd_database_errors_total", "Requests that failed because the database did."
)
OUTBOX = REGISTRY.counter(
    "commentd_outbox_total", "Mail and webhook deliveries, by kind and outcome (sent, failed)."
)
