"""Reading a large export in a second process while this one writes it.

Parsing the file and sanitizing each body take as long as writing the rows, so on a machine
with more than one core a large import runs as two processes: a reader that parses the file
and renders every body (``bodies.rendered``), and this process, which writes. Records cross
a pipe in batches; the pipe's buffer holds the reader back when the writer falls behind, so
memory stays flat. The reader is started fresh (``spawn``), sharing nothing with this process.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import MISSING, fields
from multiprocessing.connection import Connection
from pathlib import Path

from commentd.errors import CommentdError, ValidationError
from commentd.services.importers import bodies
from commentd.services.importers.formats import FORMATS, Options, Source
from commentd.services.importers.records import CommentRecord, Record
from commentd.storage.models import Status

MIN_BYTES = 8_000_000  # smaller files import faster than a second process starts
BATCH = 1_000  # records per message
AHEAD = 8  # batches read ahead of the writer, at most


def worth_it(path: Path) -> bool:
    """Whether importing ``path`` in two processes pays: a large file and a second core."""
    return (os.cpu_count() or 1) > 1 and path.stat().st_size >= MIN_BYTES


_EPOCH = dt.datetime(1970, 1, 1)
_MICROSECOND = dt.timedelta(microseconds=1)


def _packed(record: CommentRecord) -> tuple:
    """A comment as plain values, rendered: pickling these costs a fifth of pickling the
    record (its status as a string, its time as microseconds, its source body left out)."""
    created = record.created
    return (
        record.key,
        record.thread_key,
        record.parent_key,
        None if created is None else (created - _EPOCH) // _MICROSECOND,
        record.status.value,
        record.author,
        record.email,
        record.website,
        record.remote_addr,
        record.likes,
        record.dislikes,
        record.notify,
        record.extra or None,
        bodies.rendered(record),
    )


_STATUSES = {status.value: status for status in Status}
_DEFAULTS = {f.name: f.default for f in fields(CommentRecord) if f.default is not MISSING}


def _unpacked(values: tuple) -> CommentRecord:
    """The record ``_packed`` made ``values`` of, with its body ``prepared``. Built as
    unpickling builds an instance (its fields set at once, not one frozen ``__setattr__``
    after another): this runs for every comment of a large import."""
    key, thread_key, parent_key, created, status, author, email, website, address, *rest = values
    likes, dislikes, notify, extra, prepared = rest
    record = object.__new__(CommentRecord)
    record.__dict__.update(
        _DEFAULTS,
        key=key,
        thread_key=thread_key,
        parent_key=parent_key,
        created=None if created is None else _EPOCH + created * _MICROSECOND,
        status=_STATUSES[status],
        author=author,
        email=email,
        website=website,
        remote_addr=address,
        likes=likes,
        dislikes=dislikes,
        notify=notify,
        extra=extra or {},
        prepared=prepared,
    )
    return record


def _read(format: str, path: str, options: Options, out: Connection) -> None:
    """The reader process: send batches of records, each with the bytes read for it."""
    read = 0

    def progress(size: int) -> None:
        nonlocal read
        read += size

    try:
        batch: list[Record] = []
        for record in FORMATS[format].read(Source(Path(path), progress), options):
            batch.append(_packed(record) if isinstance(record, CommentRecord) else record)
            if len(batch) >= BATCH:
                out.send(("records", batch, read))
                batch, read = [], 0
        out.send(("records", batch, read))
        out.send(("done",))
    except CommentdError as exc:
        out.send(("error", exc.message, exc.code))
    except (BrokenPipeError, KeyboardInterrupt):
        pass  # the writer stopped first
    finally:
        out.close()


def records(
    format: str, path: Path, options: Options, progress: Callable[[int], None] | None
) -> Iterator[Record]:
    """The records of ``path`` as ``FORMATS[format].read`` gives them, bodies rendered, read
    by a second process. A file the reader refuses raises the same error here."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    reader = context.Process(
        target=_read, args=(format, str(path), options, send), name="commentd-import-reader"
    )
    reader.daemon = True
    reader.start()
    send.close()
    messages: queue.Queue = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()

    def drain() -> None:
        """Empty the pipe as fast as the reader fills it, up to ``AHEAD`` batches ahead."""
        while not stop.is_set():
            try:
                message = receive.recv()
            except (EOFError, OSError):
                message = ("gone",)
            while not stop.is_set():
                try:
                    messages.put(message, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if message[0] != "records":
                return

    drainer = threading.Thread(target=drain, name="commentd-import-drain", daemon=True)
    drainer.start()
    try:
        while True:
            message = messages.get()
            if message[0] == "done":
                return
            if message[0] == "gone":
                raise ValidationError(
                    "The process reading the file stopped unexpectedly.", code="import_failed"
                )
            if message[0] == "error":
                raise ValidationError(message[1], code=message[2])
            if progress is not None and message[2]:
                progress(message[2])
            for item in message[1]:
                yield _unpacked(item) if type(item) is tuple else item
    finally:
        stop.set()
        reader.terminate()  # it may be blocked sending a batch no one will read
        reader.join()
        drainer.join()
        receive.close()
