"""The metrics on prometheus-client: rendering, several processes through its multiprocess
directory, StatsD through the statsd package (real UDP sockets), the outbox worker's counts."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from commentd.services import metrics, outbox
from commentd.services.site import open_site
from commentd.storage.database import connection, write_transaction


def families(text: bytes | str) -> dict[str, Any]:
    """``family name -> family`` of an exposition, read by prometheus-client's parser."""
    if isinstance(text, bytes):
        text = text.decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(text: bytes | str) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in families(text).values()
        for sample in family.samples
    }


@pytest.fixture
def gauges():
    """Gauges a test adds, removed again after it."""
    added: list[str] = []

    def add(name: str, help: str, read) -> None:
        added.append(name)
        metrics.gauge(name, help, read)

    yield add
    for name in added:
        metrics._GAUGES.read.pop(name, None)


def test_counters_histograms_and_gauges_render(gauges):
    key = {"method": "GET", "route": "/t", "status": "200"}
    before = samples(metrics.render())
    metrics.HTTP_REQUESTS.inc(key)
    metrics.HTTP_REQUESTS.add((("method", "GET"), ("route", "/t"), ("status", "200")), 2)
    for seconds in (0.001, 0.05, 3, 10):
        metrics.HTTP_DURATION.observe(seconds, {"route": "/t", "method": "GET"})
    gauges("t_queue", "Queued.", lambda: {(("status", 'x"y'),): 4, (("status", "b"),): 1})
    text = metrics.render()
    after = samples(text)

    def delta(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0) - before.get(key, 0)

    assert delta("commentd_http_requests_total", **key) == 3
    assert (
        metrics.HTTP_REQUESTS.value(key)
        == after[("commentd_http_requests_total", frozenset(key.items()))]
    )
    duration = "commentd_http_request_duration_seconds"
    labels = {"route": "/t", "method": "GET"}
    assert delta(f"{duration}_bucket", **labels, le="0.001") == 1  # le is inclusive
    assert delta(f"{duration}_bucket", **labels, le="5.0") == 3
    assert delta(f"{duration}_bucket", **labels, le="+Inf") == 4
    assert delta(f"{duration}_count", **labels) == 4
    assert delta(f"{duration}_sum", **labels) == pytest.approx(13.051)
    assert (
        metrics.HTTP_DURATION.count(labels)
        == after[(f"{duration}_count", frozenset(labels.items()))]
    )
    assert after[("t_queue", frozenset({("status", 'x"y')}))] == 4
    assert 't_queue{status="x\\"y"} 4.0\n' in text.decode()  # escaped in the exposition
    assert families(text)["t_queue"].type == "gauge"
    assert after[("commentd_processes", frozenset())] == 1
    assert not [name for name, _ in after if name.endswith("_created")]  # no _created series


def test_a_gauge_that_cannot_be_read_is_left_out(gauges, caplog):
    def broken():
        raise RuntimeError("no database")

    gauges("t_broken", "Broken.", broken)
    found = families(metrics.render())
    assert "t_broken" not in found
    assert "commentd_http_requests" in found
    assert "t_broken could not be read" in caplog.text


# Several processes: prometheus-client's multiprocess mode holds for the whole process once
# it is on, so it runs in a process of its own, which forks workers as `serve --workers` does.
WORKERS = """
import json, os, sys, time
from commentd.services import metrics

metrics.use_directory(sys.argv[1])
key = (("method", "GET"), ("route", "/x"), ("status", "200"))


def worker(requests, stay):
    metrics.HTTP_REQUESTS.add(key, requests)
    metrics.HTTP_DURATION.observe_key(key[:2], 0.002)
    os.write(stay[1], b"r")
    os.read(stay[0], 1)  # until the parent says: render, and exit
    sys.stdout.write(metrics.render().decode())
    sys.stdout.flush()
    os._exit(0)


children = []
for requests in (5, 7):
    down, up = os.pipe(), os.pipe()
    pid = os.fork()
    if pid == 0:
        worker(requests, (down[0], up[1]))
    assert os.read(up[0], 1) == b"r"
    children.append((pid, down[1]))

first, second = children
os.write(first[1], b"x")  # the first worker renders and exits: a worker replaced
os.waitpid(first[0], 0)
metrics.process_ended(first[0])
print("---", flush=True)
os.write(second[1], b"x")  # the second renders what both counted
os.waitpid(second[0], 0)
"""


def test_several_processes_sum_in_the_directory(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", WORKERS, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    alone, together = done.stdout.split("---\n")
    labels = frozenset({("method", "GET"), ("route", "/x"), ("status", "200")})
    duration = "commentd_http_request_duration_seconds_count"
    mine = samples(alone)
    both = samples(together)
    assert both[("commentd_http_requests_total", labels)] == 12  # the exited one's counts stay
    assert both[(duration, frozenset({("method", "GET"), ("route", "/x")}))] == 2
    assert mine[("commentd_processes", frozenset())] == 2  # both alive, the parent not counted
    assert both[("commentd_processes", frozenset())] == 1  # the exited one is gone
    assert both[("commentd_process_resident_memory_bytes", frozenset())] > 1024 * 1024
    assert 1.5e9 < both[("commentd_process_start_time_seconds", frozenset())] <= time.time()
    found = families(together)
    assert found["commentd_http_requests"].type == "counter"
    assert found["commentd_http_request_duration_seconds"].type == "histogram"
    assert found["commentd_processes"].documentation == metrics.PROCESSES.help
    assert any(path.name.startswith("counter_") for path in tmp_path.iterdir())


def test_statsd_pushes_counters_with_a_stem(monkeypatch):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(10)
        client = metrics.StatsD(f"127.0.0.1:{server.getsockname()[1]}", "site", interval=0.01)
        monkeypatch.setattr(metrics, "_statsd", client)
        metrics.VOTES.inc({"value": "up"})
        metrics.CACHE.inc({"result": "hit"})  # no StatsD stem: not pushed
        client.timing("request.api", 1.5)
        received: list[str] = []
        while len(received) < 2:
            received += server.recv(65536).decode().splitlines()
    assert received == ["site.votes.up:1|c", "site.request.api:1.500000|ms"]


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6")
def test_statsd_over_ipv6():
    try:
        server = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        server.bind(("::1", 0))
    except OSError:
        pytest.skip("no ::1 here")
    with server:
        server.settimeout(10)
        client = metrics.StatsD(f"[::1]:{server.getsockname()[1]}", "six", interval=0.01)
        client.count("requests.200", 3)
        assert server.recv(65536).decode() == "six.requests.200:3|c"


def test_packets_stay_under_the_limit():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(10)
        client = metrics.StatsD(f"127.0.0.1:{server.getsockname()[1]}", "p", interval=0.2)
        for n in range(200):
            client.count(f"requests.n{n:03}")
        lines: list[str] = []
        while len(lines) < 200:
            packet = server.recv(65536)
            assert len(packet) <= metrics.StatsD.MAX_PACKET
            lines += packet.decode().splitlines()
    assert lines == [f"p.requests.n{n:03}:1|c" for n in range(200)]


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
