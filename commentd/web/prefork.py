"""Several server processes on one listening socket: ``commentd serve --workers N`` (Linux).

The parent (the supervisor) binds the socket once, applies pending migrations, closes every
database connection and forks N workers. Each worker reads the configuration file again,
builds its own app with ``create_app`` (so no database connection ever crosses a fork), runs
waitress on the inherited socket and its own outbox worker thread (outbox leases make
concurrent senders safe). All workers accept from the one kernel queue, so a connection waits
there while no worker is free, and none is lost while workers come and go.

The supervisor:

- restarts a worker that dies unexpectedly, after a backoff that grows while they keep dying;
- on SIGTERM or SIGINT stops every worker (each finishes the requests under way) and returns;
- on SIGHUP restarts the workers one at a time: it starts a new worker, waits until it is
  serving, then stops one old one, and so on, so no request is refused. A new worker re-reads
  the configuration file; the listening address and the number of workers stay as they were.
  When a new worker cannot start (say the new file is invalid), the old ones keep running.

A worker told to stop (SIGTERM) stops accepting, answers every request it has received,
closes connections that stay idle for ``IDLE_GRACE`` seconds, and exits within
``DRAIN_TIMEOUT`` seconds plus the time its outbox worker needs to finish the message under way.
A worker whose supervisor dies (even by SIGKILL) stops the same way instead of serving on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from commentd.config import Config
from commentd.services import metrics

log = logging.getLogger("commentd.prefork")

BACKLOG = 1024
IDLE_GRACE = 1.0
DRAIN_TIMEOUT = 10.0
STOP_TIMEOUT = 60.0
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0
STABLE_AFTER = 10.0
LOOP_INTERVAL = 0.25

Loader = Callable[[], Config]
"""Reads the configuration file again (in a worker, after the fork)."""


class StartError(RuntimeError):
    """The workers could not start; the message says why."""


def bind(host: str, port: int) -> socket.socket:
    """The listening socket every worker shares; ``OSError`` when the address is taken."""
    family, _, _, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    return socket.create_server(address[:2], family=family, backlog=BACKLOG)


# -- in a worker ---------------------------------------------------------------------------


def _busy(channel: Any) -> bool:
    """Whether a waitress channel is reading, answering or flushing a request."""
    return bool(
        channel.requests
        or channel.request is not None
        or channel.total_outbufs_len
        or channel.close_when_flushed
        or channel.will_close
    )


def serve_until(server: Any, stop: threading.Event) -> None:
    """Run a waitress server until ``stop`` is set, then drain it gracefully and close it."""
    from waitress import wasyncore

    use_poll = server.adj.asyncore_use_poll
    parent = os.getppid()
    while not stop.is_set():
        wasyncore.loop(timeout=LOOP_INTERVAL, use_poll=use_poll, map=server._map, count=1)
        if os.getppid() != parent:  # the supervisor was killed: do not serve on as an orphan
            log.warning("worker %d: the supervisor is gone; stopping", os.getpid())
            stop.set()
    server.accepting = False  # the others (and the kernel queue) take new connections
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while time.monotonic() < deadline:
        waiting = False
        now = time.time()
        for channel in list(server.active_channels.values()):
            if channel.connected and (_busy(channel) or now - channel.last_activity < IDLE_GRACE):
                waiting = True
            elif not _busy(channel):
                channel.handle_close()
        if not waiting:
            break
        wasyncore.loop(timeout=0.05, use_poll=use_poll, map=server._map, count=1)
    server.task_dispatcher.shutdown(timeout=DRAIN_TIMEOUT)
    wasyncore.close_all(server._map)


def _worker(load: Loader, sock: socket.socket, ready_fd: int, stop: threading.Event) -> int:
    """A worker process's life: build the app, serve, drain; its exit status."""
    try:
        config = load()
        from commentd.app import create_app
        from commentd.services.outbox import Worker
        from commentd.web.server import make_server

        app = create_app(config)
        server = make_server(
            app,
            sockets=[sock],
            threads=config.server.threads,
            max_body_size=config.server.max_body_size,
        )
    except Exception as exc:
        log.error("worker %d cannot start: %s", os.getpid(), exc)
        return 1
    outbox = Worker(config)
    outbox.start()
    os.write(ready_fd, b"r")
    os.close(ready_fd)
    log.info("worker %d serving", os.getpid())
    try:
        serve_until(server, stop)
    finally:
        outbox.stop()
    log.info("worker %d stopped", os.getpid())
    return 0


# -- the supervisor ------------------------------------------------------------------------


@dataclass
class _Child:
    pid: int
    ready_fd: int | None
    started: float
    ready: bool = False
    retiring: bool = False


class Supervisor:
    """Forks ``count`` workers serving ``sock`` and looks after them until stopped."""

    def __init__(self, load: Loader, sock: socket.socket, count: int) -> None:
        self.load = load
        self.sock = sock
        self.count = count
        self.children: dict[int, _Child] = {}
        self.starting = True
        self.stopping = False
        self.failure: str | None = None
        self.reload_requested = False
        self.reload_queue: list[int] = []
        self.reload_new: int | None = None
        self.respawn_at: list[float] = []
        self.backoff = BACKOFF_FIRST
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)

    # -- signals ----------------------------------------------------------------------

    SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD)

    def _install_signals(self) -> dict[int, Any]:
        previous = {signum: signal.getsignal(signum) for signum in self.SIGNALS}
        for signum in self.SIGNALS:
            signal.signal(signum, lambda signum, frame: None)  # the wakeup fd carries it
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        return previous

    def _signal(self, signum: int) -> None:
        if signum in (signal.SIGTERM, signal.SIGINT) and not self.stopping:
            log.info("stopping %d workers", len(self.children))
            self.stopping = True
        elif signum == signal.SIGHUP and not self.stopping:
            self.reload_requested = True

    # -- workers ----------------------------------------------------------------------

    def _spawn(self) -> int:
        ready_r, ready_w = os.pipe()
        # Blocked until the child has its own handlers: none may reach the supervisor's pipe.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, self.SIGNALS)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, measured by the subprocess tests
            status = 1
            try:
                stop = threading.Event()
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor forwards it
                signal.signal(signal.SIGHUP, signal.SIG_IGN)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                inherited = [c.ready_fd for c in self.children.values() if c.ready_fd is not None]
                for fd in (ready_r, self.wake_r, self.wake_w, *inherited):
                    os.close(fd)
                status = _worker(self.load, self.sock, ready_w, stop)
            except BaseException:
                log.exception("worker %d failed", os.getpid())
            finally:
                for stream in (sys.stdout, sys.stderr):
                    with contextlib.suppress(Exception):
                        stream.flush()
                os._exit(status)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(ready_w)
        self.children[pid] = _Child(pid, ready_r, time.monotonic())
        return pid

    def _ended(self, pid: int, status: int) -> None:
        child = self.children.pop(pid, None)
        if child is None:
            return
        if child.ready_fd is not None:
            os.close(child.ready_fd)
        metrics.process_ended(pid)  # its gauges no longer count; its counts do
        code = os.waitstatus_to_exitcode(status)
        how = f"status {code}" if code >= 0 else f"signal {-code}"
        if self.stopping or child.retiring:
            return
        if not child.ready and self.starting:
            self.failure = f"a worker exited with {how} before serving"
            self.stopping = True
        elif pid == self.reload_new:
            log.error("reload failed: the new worker exited with %s; keeping the others", how)
            self.reload_new = None
            self.reload_queue = []
        else:
            lived = time.monotonic() - child.started
            self.backoff = BACKOFF_FIRST if lived > STABLE_AFTER else self.backoff
            log.warning(
                "worker %d exited with %s; starting another in %.1f s", pid, how, self.backoff
            )
            self.respawn_at.append(time.monotonic() + self.backoff)
            if lived <= STABLE_AFTER:
                self.backoff = min(self.backoff * 2, BACKOFF_MAX)

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self._ended(pid, status)

    def _wait(self, timeout: float) -> None:
        """Wait for a signal, a worker's readiness or ``timeout``; then handle what came."""
        ready = {
            child.ready_fd: child for child in self.children.values() if child.ready_fd is not None
        }
        try:
            readable, _, _ = select.select([self.wake_r, *ready], [], [], max(0.0, timeout))
        except InterruptedError:  # pragma: no cover - PEP 475 retries select
            readable = []
        for fd in readable:
            if fd == self.wake_r:
                for signum in os.read(self.wake_r, 512):
                    self._signal(signum)
                continue
            child = ready[fd]
            child.ready = bool(os.read(fd, 1))
            os.close(fd)
            child.ready_fd = None
        self._reap()

    def _advance(self) -> None:
        """Start due replacements and take the next step of a rolling restart."""
        now = time.monotonic()
        due = [when for when in self.respawn_at if when <= now]
        for when in due:
            self.respawn_at.remove(when)
            self._spawn()
        if self.starting and all(child.ready for child in self.children.values()):
            self.starting = False
            log.info("%d workers serving", len(self.children))
        if self.starting:
            return
        if self.reload_requested and self.reload_new is None and not self.reload_queue:
            self.reload_requested = False
            self.reload_queue = [pid for pid, c in self.children.items() if not c.retiring]
            log.info("SIGHUP: restarting %d workers one by one", len(self.reload_queue))
        while self.reload_queue and self.reload_queue[0] not in self.children:
            self.reload_queue.pop(0)  # it died meanwhile and has been replaced
        if not self.reload_queue:
            return
        if self.reload_new is None:
            self.reload_new = self._spawn()
        elif self.children[self.reload_new].ready:
            old = self.children[self.reload_queue.pop(0)]
            old.retiring = True
            os.kill(old.pid, signal.SIGTERM)
            self.reload_new = None
            if not self.reload_queue:
                log.info("SIGHUP: every worker restarted")

    def _stop_all(self) -> None:
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.children and time.monotonic() < deadline:
            self._wait(LOOP_INTERVAL)
        for pid in list(self.children):
            log.warning("worker %d did not stop in time; killing it", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            self._ended(pid, 0)

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT; ``StartError`` when the workers cannot start."""
        previous = self._install_signals()
        try:
            for _ in range(self.count):
                self._spawn()
            while not self.stopping:
                upcoming = [when - time.monotonic() for when in self.respawn_at]
                self._wait(min([1.0, *upcoming]))
                if not self.stopping:
                    self._advance()
        finally:
            self._stop_all()
            signal.set_wakeup_fd(-1)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            os.close(self.wake_r)
            os.close(self.wake_w)
        if self.failure:
            raise StartError(self.failure)


def _close_database() -> None:
    """Close every connection the supervisor opened, pooled ones included, before forking."""
    from commentd.storage.database import close_database, database_proxy

    if database_proxy.obj is not None:
        close_database(database_proxy.obj)


def serve_forked(config: Config, load: Loader, count: int) -> None:
    """Bind ``config``'s address, migrate, fork ``count`` workers and supervise them.

    Raises ``OSError`` when the address cannot be bound and ``StartError`` when the
    database cannot be opened or the workers cannot start.
    """
    from commentd.errors import CommentdError
    from commentd.services.site import open_site

    sock = bind(config.server.host, config.server.port)
    directory = tempfile.mkdtemp(prefix="commentd-metrics-")
    try:
        try:
            open_site(config)  # migrate once, and keep a generated secret, before the fork
        except CommentdError as exc:
            raise StartError(exc.message) from exc
        finally:
            _close_database()
        metrics.use_directory(directory)  # each worker counts into files there; /metrics sums them
        Supervisor(load, sock, count).run()
    finally:
        sock.close()
        shutil.rmtree(directory, ignore_errors=True)
