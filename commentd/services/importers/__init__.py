"""Importing comments from every format in ``formats.FORMATS`` (Disqus, WordPress, Isso, the
peers' exports, CSV and commentd's own).

Each format's reader yields source-neutral records (``records.py``); ``Importer`` writes them.
Writing is idempotent (every comment remembers a keyed hash of its source and source id, in the
unique ``idempotency_key`` column, so a second run adds nothing), goes in batches of
``BATCH`` records, one transaction each (a live server keeps answering between them), as
plain multi-row statements (``storage/writes.py``), and one bad record is skipped with its
reason instead of aborting the import. HTML bodies go through the same sanitizer as new
comments. Imported comments train the spam filter in their batch's transaction, up to
``TRAINING_LIMIT`` of each class: a source's spam flag as spam, approved comments as ham.
A large file is read in a second process (``pipeline.py``).
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from commentd.config import Config
from commentd.errors import CommentdError, ValidationError
from commentd.services import audit, bans, validation
from commentd.services import filter as spam_filter
from commentd.services.audit import Actor
from commentd.services.clients import anonymize_ip
from commentd.services.comments import bump_version
from commentd.services.importers import bodies, pipeline
from commentd.services.importers.formats import FORMATS, Options, Source, detect
from commentd.services.importers.records import (
    BanRecord,
    CommentRecord,
    Record,
    Skipped,
    ThreadRecord,
    VoteRecord,
)
from commentd.services.keys import Keys, keyed_hash
from commentd.storage import indexes, tallies, writes
from commentd.storage.database import relaxed_durability, write_transaction
from commentd.storage.models import Ban, Comment, Status, Thread, Vote, text_hash, utcnow

BATCH = 10_000
RECENT = 50_000  # source comment ids remembered for linking replies
CACHED = 65_536  # authors, emails and websites remembered checked (commenters come back)
LEARNED = ("status", "text", "author", "website", "email")
# Comments of each class (spam, ham) one import teaches the filter: enough for a working
# model; learning costs more than the rest of the import, so the rest can learn later.
TRAINING_LIMIT = 2_000
# A source's block ending this far ahead is a permanent one (Remark42's run for a century).
FOR_GOOD = dt.timedelta(days=50 * 365)


@dataclass
class Summary:
    """What an import did (or, dry, would do)."""

    format: str
    dry_run: bool
    threads_created: int = 0
    threads_existing: int = 0
    comments_imported: int = 0
    comments_existing: int = 0
    votes_imported: int = 0
    bans_imported: int = 0  # the source's blocked users, banned (or, dry, to be banned)
    bans_existing: int = 0
    comments_hidden: int = 0  # of comments_imported: held because their thread was deleted
    filter_trained: int = 0
    filter_untrained: int = 0  # spam and approved comments past the import's TRAINING_LIMIT
    skipped: collections.Counter = field(default_factory=collections.Counter)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


@functools.lru_cache(maxsize=CACHED)
def _clip(value: str | None, limit: int) -> str | None:
    if not value:
        return None
    value = "".join(ch for ch in value if ch.isprintable()).strip()
    return value[:limit] or None


@functools.lru_cache(maxsize=CACHED)
def _website(value: str | None) -> str | None:
    try:
        return validation.website(value) if value else None
    except CommentdError:
        return None


@functools.lru_cache(maxsize=CACHED)
def _email(value: str | None) -> str | None:
    try:
        return validation.email(value, required=False) if value else None
    except CommentdError:
        return None


_network = functools.lru_cache(maxsize=CACHED)(anonymize_ip)


@dataclass
class _ImportState:
    """What one import run remembers. Memory stays bounded: the source's comment ids seen
    recently are kept (replies usually follow their parents closely), older ones are looked
    up again by their unique import key."""

    source: str
    threads: dict[str, int | None] = field(default_factory=dict)
    planned: set[str] = field(default_factory=set)  # uris a dry run would create
    banned: set[tuple[str, str]] = field(default_factory=set)  # (kind, value) banned now
    deleted_threads: set[str] = field(default_factory=set)  # source keys
    recent: collections.OrderedDict[str, tuple[int, int]] = field(
        default_factory=collections.OrderedDict
    )
    orphans: list[tuple[int, int, str]] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)  # threads with new comments or votes
    voted: set[int] = field(default_factory=set)  # threads with new votes
    existing: set[str] = field(default_factory=set)
    pending: list[tuple[dict, str, str | None]] = field(default_factory=list)
    trained: collections.Counter = field(default_factory=collections.Counter)  # by label
    keys: dict[str, str] = field(default_factory=dict)  # the batch's import keys by source key

    def remember(self, key: str, comment_id: int, thread_id: int) -> None:
        self.recent[key] = (comment_id, thread_id)
        self.recent.move_to_end(key)
        if len(self.recent) > RECENT:
            self.recent.popitem(last=False)

    def find(self, importer: Importer, key: str) -> tuple[int, int] | None:
        """(our id, thread id) for the source's comment ``key``, imported now or before."""
        if key in self.recent:
            return self.recent[key]
        found = (
            Comment.select(Comment.id, Comment.thread)
            .where(Comment.idempotency_key == importer._key(self.source, key))
            .first()
        )
        if found is None:
            return None
        self.remember(key, found.id, found.thread_id)
        return found.id, found.thread_id


def _audit(actor: Actor, path: Path, summary: Summary, error: str | None = None) -> None:
    """The audit entry of an import that wrote: the file's name, format and counts."""
    if summary.dry_run:
        return
    detail: dict[str, object] = {
        "file": path.name,
        "format": summary.format,
        "comments": summary.comments_imported,
        "threads": summary.threads_created,
        "votes": summary.votes_imported,
        "hidden": summary.comments_hidden,
        "skipped": summary.skipped_total,
    }
    if summary.bans_imported:
        detail["bans"] = summary.bans_imported
    if error is not None:
        detail["error"] = error
    with write_transaction():
        audit.record(actor, "import", "import", None, detail)


class Importer:
    """Writes one file's records into the database."""

    def __init__(
        self,
        config: Config,
        keys: Keys,
        clock: Callable[[], dt.datetime] = utcnow,
        parallel: bool | None = None,
    ):
        """``parallel``: read the file in a second process (``pipeline.py``); None decides by
        the file's size and the machine's cores."""
        self.config = config
        self.keys = keys
        self.clock = clock
        self.parallel = parallel
        self.remap: Callable[[str], str] | None = None
        self.actor: Actor = audit.SYSTEM

    def run(
        self,
        path: Path,
        format: str = "auto",
        dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
        keep_pings: bool = False,
        actor: Actor = audit.SYSTEM,
        remap: Callable[[str], str] | None = None,
    ) -> Summary:
        """Import ``path``; ``progress`` is called with the number of bytes read so far;
        ``remap`` rewrites each thread's uri before it is looked up or created.

        An import that writes is audited as ``actor``'s, with its counts (and its error, when
        one stopped it after some batches were written)."""
        path = Path(path)
        if not path.is_file():
            raise ValidationError(f"No file {path}.", code="invalid_file")
        if format == "auto":
            format = detect(path)
        if format not in FORMATS:
            raise ValidationError(
                f"Unknown format {format!r}; use one of {', '.join(FORMATS)}.",
                code="unknown_format",
            )
        summary = Summary(format, dry_run)
        self.remap, self.actor = remap, actor
        try:
            with relaxed_durability():
                self._read(path, summary, progress, keep_pings)
        except CommentdError as exc:
            if summary.comments_imported or summary.threads_created:
                _audit(actor, path, summary, exc.message)
            raise
        _audit(actor, path, summary)
        return summary

    def _read(
        self,
        path: Path,
        summary: Summary,
        progress: Callable[[int], None] | None,
        keep_pings: bool,
    ) -> None:
        options = Options(keep_pings)
        if self.parallel if self.parallel is not None else pipeline.worth_it(path):
            records = pipeline.records(summary.format, path, options, progress)
        else:
            records = FORMATS[summary.format].read(Source(path, progress), options)
        self._write(records, summary, source=summary.format)

    # -- writing ------------------------------------------------------------------------

    def _key(self, source: str, key: str) -> str:
        return keyed_hash(self.keys.idempotency, f"import\n{source}\n{key}", 64)

    def _write(self, records: Iterator[Record], summary: Summary, source: str) -> None:
        state = _ImportState(source)
        batch: list[Record] = []

        def flush() -> None:
            if not batch:
                return
            if summary.dry_run:
                self._batch(batch, summary, state, dry=True)
            else:
                with write_transaction():
                    self._batch(batch, summary, state, dry=False)
            batch.clear()

        # A first import into an empty database builds the indexes once, at the end.
        with contextlib.nullcontext() if summary.dry_run else indexes.deferred(Comment):
            for record in records:
                batch.append(record)
                if len(batch) >= BATCH:
                    flush()
            flush()
        if summary.dry_run:
            return
        with write_transaction():
            for child_id, thread_id, parent_key in state.orphans:
                parent = state.find(self, parent_key)
                if parent is not None and parent[0] != child_id and parent[1] == thread_id:
                    Comment.update(parent=parent[0]).where(Comment.id == child_id).execute()
            tallies.settle_bases(state.voted)
            for thread_id in state.touched:
                bump_version(thread_id)

    def _batch(self, batch: list[Record], summary: Summary, state: _ImportState, dry: bool):
        state.keys = {
            r.key: self._key(state.source, r.key) for r in batch if isinstance(r, CommentRecord)
        }
        state.existing = writes.existing_import_keys(list(state.keys.values()))
        for record in batch:
            if isinstance(record, Skipped):
                summary.skipped[record.reason] += 1
            elif isinstance(record, ThreadRecord):
                if record.deleted:
                    state.deleted_threads.add(record.key)
                self._thread(record, summary, state, dry)
            elif isinstance(record, CommentRecord):
                try:
                    self._comment(record, summary, state, dry)
                except CommentdError as exc:
                    summary.skipped[exc.message] += 1
            elif isinstance(record, VoteRecord):
                if not dry:
                    self._insert_pending(state, summary)
                self._vote(record, summary, state, dry)
            elif isinstance(record, BanRecord):
                self._ban(record, summary, state, dry)
        if not dry:
            self._insert_pending(state, summary)

    def _insert_pending(self, state: _ImportState, summary: Summary) -> None:
        """Write the batch's comments with ids given in file order, each reply with its
        parent when that came first (the usual order); others are linked afterwards."""
        if not state.pending:
            return
        rows = [row for row, _, _ in state.pending]
        for row, (_, source_key, _), new_id in zip(
            rows, state.pending, writes.allocate_comment_ids(len(rows)), strict=True
        ):
            row["id"] = new_id
            state.remember(source_key, new_id, row["thread"])
            state.touched.add(row["thread"])
        links: dict[int, int] = {}
        for row, _, parent_key in state.pending:
            if parent_key is None:
                continue
            parent = state.find(self, parent_key)
            if parent is None:
                state.orphans.append((row["id"], row["thread"], parent_key))
            elif parent[1] != row["thread"] or parent[0] == row["id"]:
                continue
            elif parent[0] < row["id"]:
                row["parent"] = parent[0]  # inserted before it, or in the same statement
            else:
                links[row["id"]] = parent[0]  # later in this batch
        writes.insert_comments(rows)
        writes.link_parents(links)
        summary.filter_trained += self._train(rows, state, summary)
        state.pending.clear()

    def _train(self, rows: list[dict], state: _ImportState, summary: Summary) -> int:
        """Teach the spam filter with the batch's spam and approved comments, up to
        ``TRAINING_LIMIT`` of each class in one import (the rest: ``commentd spam train``)."""
        chosen = []
        for row in rows:
            label = spam_filter.LABEL_OF_STATUS.get(row["status"])
            if label is None:
                continue
            if state.trained[label] >= TRAINING_LIMIT:
                summary.filter_untrained += 1
                continue
            state.trained[label] += 1
            fields = {name: row[name] for name in LEARNED}
            chosen.append(Comment(id=row["id"], **fields))
        return spam_filter.learn_many(chosen)

    def _thread(self, record: ThreadRecord, summary: Summary, state: _ImportState, dry: bool):
        threads = state.threads
        try:
            uri = validation.uri(self.remap(record.uri) if self.remap else record.uri)
        except CommentdError as exc:
            summary.skipped[f"thread: {exc.message}"] += 1
            threads[record.key] = None
            return
        if dry and uri in state.planned:  # another source thread's uri (a remap joined them)
            summary.threads_existing += 1
            threads[record.key] = -1
            return
        existing = Thread.get_or_none(Thread.uri == uri)
        if existing is not None:
            summary.threads_existing += 1
            threads[record.key] = existing.id
            return
        summary.threads_created += 1
        if dry:
            state.planned.add(uri)  # not written: what the real run would then find
            threads[record.key] = -1
            return
        thread = Thread.create(
            uri=uri,
            title=_clip(record.title, 512),
            created=record.created or self.clock(),
            locked=record.locked,
        )
        threads[record.key] = thread.id

    def _comment(self, record: CommentRecord, summary: Summary, state: _ImportState, dry: bool):
        thread_id = state.threads.get(record.thread_key)
        if thread_id is None:
            summary.skipped["comment of an unknown or skipped thread"] += 1
            return
        key = state.keys[record.key]
        if key in state.existing:
            summary.comments_existing += 1
            return
        html, text = bodies.rendered(record)
        deleted = record.status == Status.DELETED
        if not deleted and not html:
            summary.skipped["empty comment"] += 1
            return
        summary.comments_imported += 1
        if record.thread_key in state.deleted_threads and record.status == Status.APPROVED:
            # Not shown on the site the source had deleted it from; a moderator can approve.
            record = replace(record, status=Status.PENDING)
            summary.comments_hidden += 1
        if dry:
            return
        row = {
            "thread": thread_id,
            "parent": None,
            "text": "" if deleted else text,
            "text_hash": None if deleted else text_hash(text),
            "html": "" if deleted else html,
            "author": None if deleted else _clip(record.author, 256),
            "email": None if deleted else _email(record.email),
            "website": None if deleted else _website(record.website),
            "created": record.created or self.clock(),
            "modified": record.extra.get("modified"),
            "status": record.status,
            "likes": max(0, record.likes),
            "dislikes": max(0, record.dislikes),
            # no vote row backs a new comment's counts yet (settled again where votes come)
            "likes_base": max(0, record.likes),
            "dislikes_base": max(0, record.dislikes),
            "remote_addr": _network(record.remote_addr) if record.remote_addr else None,
            "notify": record.notify and not deleted,
            "notify_thread": bool(record.extra.get("notify_thread")) and not deleted,
            "pinned": bool(record.extra.get("pinned")) and record.status == Status.APPROVED,
            "idempotency_key": key,
        }
        state.existing.add(key)  # the same record twice in one file is imported once
        state.pending.append((row, record.key, record.parent_key))

    def _vote(self, record, summary: Summary, state: _ImportState, dry: bool) -> None:
        found = state.find(self, record.comment_key)
        comment = found[0] if found else None
        if comment is None:
            summary.skipped["vote on an unknown comment"] += 1
            return
        exists = Vote.select().where((Vote.comment == comment) & (Vote.voter == record.voter))
        if exists.exists():
            return
        summary.votes_imported += 1
        if not dry:
            state.voted.add(found[1])
            state.touched.add(found[1])
            Vote.create(
                comment=comment, voter=record.voter, value=record.value, created=record.created
            )

    def _ban(self, record: BanRecord, summary: Summary, state: _ImportState, dry: bool):
        """Ban a commenter the source blocked, through the ban service (audited as the
        import's actor); a ban already there is left as it is, a block already over skipped."""
        now = self.clock()
        if record.until is not None and record.until <= now:
            summary.skipped["blocked user whose block has ended"] += 1
            return
        try:
            value = bans.normalize(record.kind, record.value)
        except CommentdError as exc:
            summary.skipped[f"blocked user: {exc.message}"] += 1
            return
        found = Ban.select().where((Ban.kind == record.kind) & (Ban.value == value)).exists()
        if found or (record.kind, value) in state.banned:  # a dry run's bans are not written
            summary.bans_existing += 1
            return
        summary.bans_imported += 1
        state.banned.add((record.kind, value))
        if dry:
            return
        reason = record.reason or f"blocked in {state.source}"
        if record.until is not None and record.until - now < FOR_GOOD:
            reason += f" until {record.until:%Y-%m-%d}"
        bans.add(record.kind, value, self.actor, reason)
