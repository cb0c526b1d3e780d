"""commentd's waitress channel: the main loop waits, instead of spinning, while a task thread
sends, and every byte still arrives, however big the response or slow the reader."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.client import HTTPConnection

import pytest
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server

from commentd.web.channel import NoSpinChannel

SLOW_BODY = b"slow-body"
BIG_CHUNK = 512 * 1024
# 32 MiB in 64 writes: more than the kernel's socket buffers hold
BIG_BODY = b"".join(bytes([65 + n % 26]) * BIG_CHUNK for n in range(64))


def counting(base: type[HTTPChannel]) -> type[HTTPChannel]:
    """``base``, counting the main loop's write attempts; a task thread sending
    ``SLOW_BODY`` takes 100 ms over it, holding the channel's output lock."""

    class Counting(base):
        write_attempts = 0
        slow_send_started = threading.Event()

        def send(self, data, do_close=True):
            if SLOW_BODY in bytes(data) and threading.current_thread().name.startswith("waitress"):
                type(self).slow_send_started.set()
                time.sleep(0.1)
            return super().send(data, do_close)

        def handle_write(self) -> None:
            type(self).write_attempts += 1
            super().handle_write()

    return Counting


def app(environ, start_response):
    if environ["PATH_INFO"] == "/big":
        start_response("200 OK", [("Content-Length", str(len(BIG_BODY)))])
        return [BIG_BODY[n : n + BIG_CHUNK] for n in range(0, len(BIG_BODY), BIG_CHUNK)]
    body = SLOW_BODY if environ["PATH_INFO"] == "/slow" else b"fast"
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


@contextmanager
def serving(channel_class: type[HTTPChannel], **adjustments) -> Iterator[int]:
    socket_map: dict = {}
    server = create_server(app, host="127.0.0.1", port=0, threads=2, map=socket_map, **adjustments)
    server.channel_class = channel_class
    loop = threading.Thread(target=server.run, daemon=True)
    loop.start()
    try:
        yield server.socket.getsockname()[1]
    finally:
        server.task_dispatcher.shutdown()
        # closed from the loop's own thread: closing them from here raced its select()
        server.trigger.pull_trigger(lambda: wasyncore.close_all(socket_map))
        loop.join(10)
        assert not loop.is_alive()


def get(port: int, path: str) -> bytes:
    conn = HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        return conn.getresponse().read()
    finally:
        conn.close()


def write_attempts_while_a_task_sends(base: type[HTTPChannel]) -> int:
    """One request's response takes 100 ms to send; another request arrives meanwhile,
    waking the main loop. How often did the loop try to write?"""
    channel = counting(base)
    with serving(channel) as port:
        slow = {}
        sender = threading.Thread(target=lambda: slow.update(body=get(port, "/slow")))
        sender.start()
        assert channel.slow_send_started.wait(10)
        assert get(port, "/fast") == b"fast"
        sender.join(10)
        assert slow["body"] == SLOW_BODY
    return channel.write_attempts


def test_the_main_loop_waits_while_a_task_thread_sends():
    """waitress's own channel goes round its loop for as long as the send takes (hundreds
    of turns in 100 ms, taking the CPU from the thread that sends); commentd's does not."""
    assert write_attempts_while_a_task_sends(NoSpinChannel) <= 2
    assert write_attempts_while_a_task_sends(HTTPChannel) > 20  # the spin this avoids


@pytest.mark.parametrize("watermark", [None, 1024 * 1024])
def test_a_big_response_reaches_a_late_reader_whole(watermark):
    """What a task thread cannot send at once is left to the main loop, including above
    the high watermark, where the task thread waits for the loop to send."""
    adjustments = {"outbuf_high_watermark": watermark} if watermark else {}
    channel = counting(NoSpinChannel)
    with serving(channel, **adjustments) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            time.sleep(0.3)  # reads late: the socket buffers fill, the rest waits
            received = bytearray()
            while chunk := sock.recv(1 << 20):
                received += chunk
        head, _, body = bytes(received).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK")
        assert body == BIG_BODY
        assert channel.write_attempts > 0  # the main loop did send some of it
        assert get(port, "/fast") == b"fast"  # and the server goes on serving
