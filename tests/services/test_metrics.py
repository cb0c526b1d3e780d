"""The metrics registry: rendering, several processes through a spool directory, StatsD,
and the outbox worker's counts."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from commentd.services import metrics, outbox
from commentd.services.site import open_site
from commentd.storage.database import connection, write_transaction


def lines_of(registry: metrics.Registry, name: str) -> dict[str, str]:
    """``sample text -> value`` for the samples of one metric family."""
    found = {}
    for line in registry.render().splitlines():
        if line.startswith(name):
            sample, _, value = line.rpartition(" ")
            found[sample] = value
    return found


def test_counter_histogram_and_gauge_render():
    registry = metrics.Registry()
    counter = registry.counter("t_total", "A test.")
    counter.inc({"b": 'x"y', "a": "1"})
    counter.inc({"a": "1", "b": 'x"y'}, 2)
    histogram = registry.histogram("t_seconds", "Times.", buckets=(0.1, 1.0))
    for seconds in (0.05, 0.1, 0.5, 3):
        histogram.observe(seconds, {"route": "/r"})
    registry.gauge("t_queue", "Queued.", lambda: {(("status", "pending"),): 4})
    text = registry.render()
    assert '# TYPE t_total counter\nt_total{a="1",b="x\\"y"} 3\n' in text
    assert 't_seconds_bucket{route="/r",le="0.1"} 2\n' in text  # le is inclusive
    assert 't_seconds_bucket{route="/r",le="1"} 3\n' in text
    assert 't_seconds_bucket{route="/r",le="+Inf"} 4\n' in text
    assert 't_seconds_count{route="/r"} 4\n' in text
    assert 't_seconds_sum{route="/r"} 3.65\n' in text
    assert '# TYPE t_queue gauge\nt_queue{status="pending"} 4\n' in text
    assert "commentd_processes 1\n" in text


def test_a_gauge_that_cannot_be_read_is_left_out(caplog):
    registry = metrics.Registry()

    def broken():
        raise RuntimeError("no database")

    registry.gauge("t_broken", "Broken.", broken)
    registry.counter("t_total", "Fine.").inc()
    text = registry.render()
    assert "t_broken" not in text
    assert "t_total 1" in text


def two_processes(spool, other_pid: int) -> tuple[metrics.Registry, metrics.Registry]:
    mine, other = metrics.Registry(), metrics.Registry()
    other.pid = other_pid  # two registries in one process stand for two processes
    for registry in (mine, other):
        registry.use_spool(spool, writer=False)
        registry.counter("t_total", "Requests.")
        registry.histogram("t_seconds", "Times.", buckets=(1.0,))
    return mine, other


def test_the_spool_sums_every_live_process(tmp_path):
    mine, other = two_processes(tmp_path, os.getppid())
    mine.counter("t_total", "Requests.").inc({"status": "200"}, 2)
    other.counter("t_total", "Requests.").inc({"status": "200"}, 3)
    other.counter("t_total", "Requests.").inc({"status": "404"})
    other.histogram("t_seconds", "Times.").observe(0.5)
    mine.histogram("t_seconds", "Times.").observe(2)
    other.write_snapshot()
    assert json.loads((tmp_path / f"{os.getppid()}.json").read_text())["pid"] == os.getppid()

    counts = lines_of(mine, "t_total")
    assert counts == {'t_total{status="200"}': "5", 't_total{status="404"}': "1"}
    times = lines_of(mine, "t_seconds")
    assert times['t_seconds_bucket{le="1"}'] == "1"
    assert times['t_seconds_bucket{le="+Inf"}'] == "2"
    assert times["t_seconds_count"] == "2"
    assert "commentd_processes 2\n" in mine.render()
    assert (tmp_path / f"{os.getpid()}.json").exists()  # rendering wrote its own snapshot
    # and each side sees the same totals
    assert lines_of(other, "t_total") == counts


def test_an_exited_process_counts_are_kept(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(dead.stdout)
    mine, other = two_processes(tmp_path, dead_pid)
    mine.counter("t_total", "Requests.").inc(amount=1)
    other.counter("t_total", "Requests.").inc(amount=10)
    other.write_snapshot()
    assert lines_of(mine, "t_total") == {"t_total": "11"}
    assert not (tmp_path / f"{dead_pid}.json").exists()  # folded into retired.json
    assert (tmp_path / "retired.json").exists()
    assert lines_of(mine, "t_total") == {"t_total": "11"}  # counted once, not again
    assert "commentd_processes 1\n" in mine.render()


SECOND_PROCESS = """
import sys
from commentd.services import metrics
metrics.use_spool(sys.argv[1])
metrics.HTTP_REQUESTS.inc({"route": "/x", "method": "GET", "status": "200"}, 7)
metrics.REGISTRY.write_snapshot()
print("ready", flush=True)
sys.stdin.read()
"""


def test_a_real_second_process(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-c", SECOND_PROCESS, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline() == "ready\n"
        mine = metrics.Registry()
        mine.use_spool(tmp_path, writer=False)
        mine.counter(metrics.HTTP_REQUESTS.name, "Requests.").inc(
            {"route": "/x", "method": "GET", "status": "200"}
        )
        sample = 'commentd_http_requests_total{method="GET",route="/x",status="200"}'
        assert lines_of(mine, metrics.HTTP_REQUESTS.name)[sample] == "8"
    finally:
        process.stdin.close()
        process.wait(10)
        process.stdout.close()
    assert lines_of(mine, metrics.HTTP_REQUESTS.name)[sample] == "8"  # retired, still counted


def test_a_forked_child_counts_from_zero():
    registry = metrics.Registry()
    counter = registry.counter("t_total", "Requests.")
    counter.inc(amount=5)
    registry.after_fork()  # what os.register_at_fork runs in the child
    assert counter.value() == 0
    assert registry.pid == os.getpid()


def test_statsd_pushes_counters_with_a_stem(monkeypatch):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(10)
        client = metrics.StatsD(f"127.0.0.1:{server.getsockname()[1]}", "site", interval=0.01)
        monkeypatch.setattr(metrics, "_statsd", client)
        metrics.Counter("t_total", "Votes.", statsd="votes").inc({"value": "up"})
        metrics.Counter("t2_total", "Not pushed.").inc()
        client.timing("request.api", 1.5)
        received: list[str] = []
        while len(received) < 2:
            received += server.recv(65536).decode().splitlines()
    assert received == ["site.votes.up:1|c", "site.request.api:1.500|ms"]


# -- the outbox worker --------------------------------------------------------------------


@pytest.mark.parametrize(("max_attempts", "outcome"), [(1, "failed"), (3, "retry")])
def test_the_outbox_worker_counts_sent_and_failed(make_config, max_attempts, outcome):
    config = make_config(outbox__max_attempts=max_attempts)
    open_site(config)

    def broken(recipient, payload):
        raise OSError("connection refused")

    worker = outbox.Worker(config, handlers={"email": lambda r, p: None, "webhook": broken})
    sent = {"kind": "email", "outcome": "sent"}
    failed = {"kind": "webhook", "outcome": outcome}
    before = metrics.OUTBOX.value(sent), metrics.OUTBOX.value(failed)
    with connection():
        with write_transaction():
            outbox.enqueue("email", "a@example.com", {})
            outbox.enqueue("email", "b@example.com", {})
            outbox.enqueue("webhook", "https://hooks.example/x", {})
        assert worker.run_once() == 3
    assert metrics.OUTBOX.value(sent) - before[0] == 2
    assert metrics.OUTBOX.value(failed) - before[1] == 1
