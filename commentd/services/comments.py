"""Writing comments: create, read with a token, edit, delete, vote, report, preview."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from peewee import IntegrityError

from commentd.config import Config
from commentd.errors import (
    ChallengeRequired,
    CommentdError,
    Conflict,
    Forbidden,
    NotFound,
    ValidationError,
)
from commentd.services import altcha, audit, catches, metrics, tokens, validation
from commentd.services import filter as spam_filter
from commentd.services.clients import Client, reader_voter
from commentd.services.events import Events, NoEvents
from commentd.services.guard import RateLimiter
from commentd.services.keys import Keys, keyed_hash
from commentd.services.pow import ProofOfWork
from commentd.services.render import render
from commentd.services.screening import Screener, Traps, check_links, record_catch
from commentd.services.spam import Submission
from commentd.services.threads import thread_closed
from commentd.storage import tallies, writes
from commentd.storage.database import batched_write, expected_write, write_transaction
from commentd.storage.models import (
    REPORT_REASONS,
    Comment,
    Report,
    Status,
    Thread,
    Vote,
    text_hash,
    utcnow,
)

MAX_IDEMPOTENCY_KEY = 255
# Spam is among them: to its author a comment caught as spam looks merely held, so a bot
# cannot tell that it was caught.
VISIBLE_TO_OWNER = (Status.APPROVED, Status.PENDING, Status.SPAM)
VOTE_NAMES = {1: "up", -1: "down", 0: "withdrawn"}
THREAD_LOCKED = Forbidden("This thread is closed.", code="thread_locked")
DUPLICATE = "duplicate_comment"  # the code of _refuse_duplicate's Conflict


@dataclass(frozen=True)
class Created:
    """The result of a create: the comment, its edit token, and whether it was a replay."""

    comment: Comment
    token: str
    replayed: bool = False


@dataclass(frozen=True)
class Voted:
    """A comment's tallies after a vote, and the vote its voter now holds."""

    comment: Comment
    value: int


@dataclass(frozen=True)
class Voter:
    """Who votes or reports, as keyed hashes: the reader id the embed sent (None without one),
    the client's address and its network."""

    reader: str | None
    address: str
    network: str

    @property
    def key(self) -> str:
        """A vote's ``voter`` and a report's ``reporter``: the reader, else the address."""
        return self.reader or self.address


@dataclass(frozen=True)
class Owned:
    """A comment as seen by a reader who may or may not hold its edit token."""

    comment: Comment
    is_owner: bool


def thread_for_write(
    config: Config, uri: str, title: str | None, clock: Callable[[], dt.datetime] = utcnow
) -> Thread:
    """The thread at ``uri`` to write a comment to, created with its first one; raises
    ``403 thread_locked`` when it is closed. Call it inside the write transaction."""
    thread = writes.thread_for_uri(uri)
    if thread is None:
        # Concurrent first comments race to create the thread (PostgreSQL runs them in
        # parallel): the loser's insert does nothing and it reads the winner's row.
        Thread.insert(uri=uri, title=title, created=clock()).on_conflict_ignore().execute()
        return Thread.get(Thread.uri == uri)
    if thread_closed(thread, config, clock):
        raise THREAD_LOCKED
    if title and not thread.title:
        # Readers see the title, so it is a change of the thread like any other.
        thread.title = title
        thread.version += 1
        thread.save(only=[Thread.title, Thread.version])
    return thread


def bump_version(thread_id: int) -> None:
    """Mark a thread as changed for readers: its version counts every visible change."""
    writes.bump_version(thread_id)


class CommentService:
    """Everything a reader can do to a single comment."""

    def __init__(
        self,
        config: Config,
        keys: Keys,
        limiter: RateLimiter | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        screener: Screener | None = None,
        events: Events | None = None,
    ):
        self.config = config
        self.keys = keys
        self.limiter = limiter
        self.clock = clock
        self.screener = screener or Screener(config, keys.form_stamp, clock=clock)
        self.events = events or NoEvents()
        self.pow = ProofOfWork(config, keys.challenge, clock=clock)

    def _count(self, action: str, client: Client) -> None:
        if self.limiter is not None:
            self.limiter.hit(action, client)

    def _voter(self, client: Client, reader_id: Any) -> Voter:
        """``client`` with the reader id it sent (validated: ``400 invalid_value``)."""
        raw = validation.reader_id(reader_id)
        key = self.keys.voter
        return Voter(
            reader=reader_voter(key, raw) if raw is not None else None,
            address=client.voter(key),
            network=client.network_voter(key),
        )

    # -- tokens -------------------------------------------------------------------------

    def editable_until(self, comment: Comment) -> dt.datetime:
        return comment.created + dt.timedelta(seconds=self.config.comments.edit_window)

    def token_for(self, comment: Comment) -> str:
        return tokens.issue(self.keys.edit_token, comment.id, self.editable_until(comment))

    def _authorize(self, comment_id: int, token: str | None) -> None:
        tokens.verify(self.keys.edit_token, token, comment_id, self.clock())

    # -- reads --------------------------------------------------------------------------

    def _load(self, comment_id: int) -> Comment:
        comment = Comment.get_or_none(Comment.id == comment_id)
        if comment is None:
            raise NotFound(f"No comment {comment_id}.", code="comment_not_found")
        return comment

    def get(self, comment_id: int, token: str | None = None) -> Owned:
        """A comment; with a valid token, as its author sees it (pending ones too).

        A read never fails because of its token: a stale or foreign one gives the public view.
        """
        comment = self._load(comment_id)
        is_owner = comment.status in VISIBLE_TO_OWNER and self._holds_token(comment_id, token)
        visible = VISIBLE_TO_OWNER if is_owner else (Status.APPROVED, Status.DELETED)
        if comment.status not in visible:
            raise NotFound(f"No comment {comment_id}.", code="comment_not_found")
        return Owned(comment, is_owner)

    # -- writes -------------------------------------------------------------------------

    def _idempotency_hash(self, key: str | None, voter: Voter) -> str | None:
        if key is None:
            return None
        if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isascii() or not key.isprintable():
            raise ValidationError(
                f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters.",
                code="invalid_value",
                field="Idempotency-Key",
            )
        # The key is the sender's own: scoped to its reader id (kept when the reader's address
        # changes between a request and its retry), else to its address.
        return keyed_hash(self.keys.idempotency, f"{voter.key}\n{key}", 64)

    def create(
        self,
        uri: Any,
        data: Mapping[str, Any],
        client: Client,
        idempotency_key: str | None = None,
        can_prove: bool = True,
    ) -> Created:
        """Validate and store a new comment; the thread is created on its first comment.

        When proof of work is asked (``[spam]``), ``data["altcha"]`` must carry a solution,
        else ``403 challenge_required``; a sender that cannot solve one (``can_prove`` false:
        the form without JavaScript) is never refused for it, its comment is held instead.
        """
        # Announced before the validation and rendering, so a batch about to commit waits
        # for this comment's write (see GroupCommit).
        with expected_write():
            return self._create(uri, data, client, idempotency_key, can_prove)

    def _create(
        self,
        uri: Any,
        data: Mapping[str, Any],
        client: Client,
        idempotency_key: str | None,
        can_prove: bool,
    ) -> Created:
        settings = self.config.comments
        uri = validation.uri(uri)
        text = validation.text(data.get("text"), max_length=settings.max_length)
        email = validation.email(data.get("email"), required=settings.require_email)
        fields = {
            "author": validation.author(data.get("author"), required=settings.require_author),
            "email": email,
            "website": validation.website(data.get("website")),
            "notify": validation.boolean(data.get("notify"), "notify"),
            "notify_thread": validation.boolean(data.get("notify_thread"), "notify_thread"),
            "lang": validation.language(data.get("lang")),
        }
        for wish in ("notify", "notify_thread"):
            if fields[wish] and not email:
                raise ValidationError(
                    "Notifications can only be sent to an email address.",
                    code="email_required",
                    field=wish,
                )
        title = validation.title(data.get("title"))
        solution = _solution(data.get("altcha"))
        parent_id = validation.identifier(data.get("parent"), "parent")
        author = self._voter(client, data.get("voter"))
        idem = self._idempotency_hash(idempotency_key, author)
        if idem is not None:
            earlier = Comment.get_or_none(Comment.idempotency_key == idem)
            if earlier is not None:
                return self._replay(earlier, uri, text)
        html = render(text)
        self._check_links(html)
        # Counted in the comment's own transaction: one commit, and a comment refused
        # there (a double post, a closed thread) counts nothing. Already over a limit:
        # refused here, before the spam checks.
        count = self.limiter.counter("comment", client) if self.limiter else None
        if count is not None:
            self.limiter.check("comment", client)
        submission = Submission(
            uri=uri,
            text=text,
            author=fields["author"],
            email=email,
            website=fields["website"],
            address=client.address,
            user_agent=client.user_agent,
        )
        traps = _traps(data)
        required = self._work_required(submission, html, client, traps, author)
        try:
            proof = self.pow.check(solution, required) if required and can_prove else None
        except ChallengeRequired:
            record_catch("proof_of_work")  # refused: nothing stored
            raise
        verdict = self.screener.screen(submission, html, client, traps)
        status, signal = verdict.status, verdict.signal
        if required and not can_prove and status == Status.APPROVED:
            # Proof of work would have been asked (the no-JavaScript form): a moderator decides.
            status, signal = Status.PENDING, "proof_of_work"
        voter = author.address
        # Built before the write lock is taken: inside it only what depends on the database.
        comment = Comment(
            text=text,
            text_hash=text_hash(text),
            html=html,
            status=status,
            remote_addr=client.network,
            voter=voter,
            reader=author.reader,
            idempotency_key=idem,
            caught_by=signal,
            **fields,
        )

        def store() -> None:
            if count is not None:
                count()
            thread = self._thread_for_write(uri, title)
            parent = self._parent(parent_id, thread) if parent_id is not None else None
            self._refuse_duplicate(thread, text, voter, email)
            comment.thread, comment.parent, comment.created = thread, parent, self.clock()
            if proof is not None:
                self.pow.spend(proof, required)
            writes.insert_comment(comment)
            if status == Status.APPROVED:
                bump_version(thread.id)
            self.events.comment_created(comment)

        try:
            batched_write(store)  # committed with other comments arriving at the same moment
        except IntegrityError:
            if proof is not None and self.pow.was_spent(proof):  # spent at the same moment
                raise self.pow.refuse("reused", required) from None
            earlier = Comment.get_or_none(Comment.idempotency_key == idem) if idem else None
            if earlier is None:
                raise
            return self._replay(earlier, uri, text)
        except Conflict as exc:
            if exc.code == DUPLICATE:
                record_catch("duplicate")  # after the rollback: nothing of it was stored
            raise
        if proof is not None:
            self.pow.solved()
        metrics.COMMENTS_CREATED.inc({"status": Status(comment.status).value})
        if signal is not None:
            catches.counted(signal, "spam" if status == Status.SPAM else "hold")
        return Created(comment, self.token_for(comment))

    def _work_required(
        self, submission: Submission, html: str, client: Client, traps: Traps, author: Voter
    ) -> int:
        """The proof of work this comment needs (a challenge's ``maxnumber``); 0 for none."""
        if self.pow.mode == "off":
            return 0
        screener = self.screener
        screened = (
            screener.trap(traps) is not None
            or screener.too_fast(traps)
            or screener.blocklisted(submission, client)
        )
        signals = self.pow.signals(client, author.reader, submission.email, html, screened)
        return self.pow.difficulty(signals)

    def challenge_for(self, client: Client, reader_id: Any) -> int:
        """The difficulty a comment from this reader would need before its text is known
        (no links, no screening signal); 0 when none."""
        reader = self._voter(client, reader_id).reader  # checked in every mode (400)
        if self.pow.mode == "off":
            return 0
        return self.pow.difficulty(self.pow.signals(client, reader))

    def _replay(self, earlier: Comment, uri: str, text: str) -> Created:
        """The first result for a retried request; a key reused for another one is refused."""
        same_thread = (
            Thread.select().where((Thread.id == earlier.thread_id) & (Thread.uri == uri)).exists()
        )
        if not same_thread or (earlier.status != Status.DELETED and earlier.text != text):
            raise Conflict(
                "This Idempotency-Key was used for a different comment.",
                code="idempotency_key_reused",
                field="Idempotency-Key",
            )
        return Created(earlier, self.token_for(earlier), replayed=True)

    def _check_links(self, html: str) -> None:
        check_links(html, self.config.comments.max_links)

    def _refuse_duplicate(self, thread: Thread, text: str, voter: str, email: str | None):
        """The same text again in the same thread from the same person is a double post."""
        if writes.has_comment(thread.id, text, VISIBLE_TO_OWNER, voter, email):
            raise Conflict(
                "You already posted this comment here.", code="duplicate_comment", field="text"
            )

    def _thread_for_write(self, uri: str, title: str | None) -> Thread:
        return thread_for_write(self.config, uri, title, self.clock)

    def _parent(self, parent_id: int, thread: Thread) -> Comment:
        parent = writes.comment_by_id(parent_id)
        # 409, not 400: the request is well formed, the thread is not (or no longer) as the
        # reader saw it (the comment was deleted, purged or moved meanwhile).
        if parent is None or parent.thread_id != thread.id:
            raise Conflict(
                "The comment replied to is not in this thread.",
                code="invalid_parent",
                field="parent",
            )
        if parent.status not in VISIBLE_TO_OWNER:
            raise Conflict(
                "The comment replied to was deleted.", code="invalid_parent", field="parent"
            )
        return parent

    def _load_owned(self, comment_id: int, token: str | None) -> Comment:
        self._authorize(comment_id, token)
        comment = self._load(comment_id)
        if comment.status not in VISIBLE_TO_OWNER:
            raise Conflict("This comment was deleted.", code="comment_deleted")
        return comment

    def edit(self, comment_id: int, token: str | None, data: Mapping[str, Any]) -> Comment:
        """Change the text (and optionally author and website) within the edit window."""
        settings = self.config.comments
        text = validation.text(data.get("text"), max_length=settings.max_length)
        changes: dict[str, Any] = {"text": text, "text_hash": text_hash(text), "html": render(text)}
        if "author" in data:
            changes["author"] = validation.author(
                data.get("author"), required=settings.require_author
            )
        if "website" in data:
            changes["website"] = validation.website(data.get("website"))
        with write_transaction():
            comment = self._load_owned(comment_id, token)
            self._refuse_if_closed(comment)
            before = spam_filter.comment_tokens(comment) if comment.filter_label else None
            changes["modified"] = self.clock()
            for name, value in changes.items():
                setattr(comment, name, value)
            comment.save()
            if before is not None:
                spam_filter.relearn(before, comment)
            bump_version(comment.thread_id)
        return comment

    def delete(self, comment_id: int, token: str | None) -> Comment:
        """Erase a comment's content; it stays as a placeholder while it has replies."""
        with write_transaction():
            comment = self._load_owned(comment_id, token)
            erase(comment, self.clock())
            bump_version(comment.thread_id)
            self.events.comment_deleted(comment)
        return comment

    def vote(
        self,
        comment_id: int,
        value: Any,
        client: Client,
        token: str | None = None,
        reader_id: Any = None,
    ) -> Voted:
        """Record the vote (+1, -1, or 0 to withdraw) of the reader ``reader_id`` names, or of
        ``client``'s address without one."""
        value = validation.json_integer(value)
        if value not in (-1, 0, 1):
            raise ValidationError("value must be 1, -1 or 0.", code="invalid_value", field="value")
        voter = self._voter(client, reader_id)
        self._count("vote", client)
        with write_transaction():
            comment = self._approved(comment_id)
            self._refuse_if_closed(comment)
            if self._owns(comment, voter, token):
                raise Forbidden("You cannot vote on your own comment.", code="own_comment")
            mine = Vote.get_or_none((Vote.comment == comment) & (Vote.voter == voter.key))
            taken_over = self._take_over_legacy_vote(comment, voter)
            if mine is not None and not value:
                mine.delete_instance()
            elif mine is not None:
                mine.value = value
                mine.save(only=[Vote.value])
            elif value:
                if not taken_over:
                    self._refuse_over_network_cap(comment, voter)
                Vote.create(
                    comment=comment,
                    voter=voter.key,
                    network=voter.network,
                    value=value,
                    created=self.clock(),
                )
            tallies.recount(comment)
            bump_version(comment.thread_id)
        metrics.VOTES.inc({"value": VOTE_NAMES[value]})
        return Voted(comment, value)

    def _approved(self, comment_id: int) -> Comment:
        """An approved comment, its row locked for this transaction; else 404 (as if absent)."""
        comment = writes.comment_for_update(comment_id)
        if comment is None or comment.status != Status.APPROVED:
            raise NotFound(f"No comment {comment_id}.", code="comment_not_found")
        return comment

    def _owns(self, comment: Comment, voter: Voter, token: str | None) -> bool:
        """Whether ``voter`` wrote ``comment``: it holds the edit token, or it is the reader
        who posted it; an API client without a reader id, by the address that posted it."""
        if self._holds_token(comment.id, token):
            return True
        if voter.reader is not None:
            return comment.reader == voter.reader
        return comment.voter == voter.address

    def _take_over_legacy_vote(self, comment: Comment, voter: Voter) -> bool:
        """Drop the vote this reader's address cast before votes were per reader (its
        ``network`` is NULL): the reader's vote replaces it, so nobody counts twice."""
        if voter.reader is None:
            return False
        legacy = (Vote.comment == comment) & (Vote.voter == voter.address) & Vote.network.is_null()
        return Vote.delete().where(legacy).execute() > 0

    def _refuse_over_network_cap(self, comment: Comment, voter: Voter) -> None:
        cap = self.config.ratelimit.votes_per_network
        if not cap:
            return
        cast = Vote.select().where((Vote.comment == comment) & (Vote.network == voter.network))
        if cast.count() >= cap:
            raise Forbidden(
                "Too many votes on this comment came from your network.", code="vote_limit"
            )

    def report(
        self,
        comment_id: int,
        reason: Any,
        client: Client,
        token: str | None = None,
        reader_id: Any = None,
    ) -> Comment:
        """Record a reader's report of an approved comment; enough reports
        (``[moderation] reports_to_hide``) hide it until a moderator looks at it."""
        if not isinstance(reason, str) or reason not in REPORT_REASONS:
            raise ValidationError(
                f"reason must be one of {', '.join(REPORT_REASONS)}.",
                code="invalid_value",
                field="reason",
            )
        reporter = self._voter(client, reader_id)
        self._count("report", client)
        try:
            with write_transaction():
                comment = self._approved(comment_id)
                if self._owns(comment, reporter, token):
                    raise Forbidden("You cannot report your own comment.", code="own_comment")
                mine = (Report.comment == comment) & (Report.reporter == reporter.key)
                if Report.select().where(mine).exists():
                    raise _already_reported()
                Report.create(
                    comment=comment, reporter=reporter.key, reason=reason, created=self.clock()
                )
                self._hide_if_reported_enough(comment)
        except IntegrityError as exc:  # the same reporter, at the same moment (PostgreSQL)
            raise _already_reported() from exc
        metrics.REPORTS.inc({"reason": reason})
        return comment

    def _hide_if_reported_enough(self, comment: Comment) -> None:
        threshold = self.config.moderation.reports_to_hide
        if not threshold:
            return
        reports = Report.select().where(Report.comment == comment).count()
        if reports < threshold:
            return
        comment.status = Status.PENDING
        comment.save(only=[Comment.status])
        bump_version(comment.thread_id)
        audit.record(
            audit.SYSTEM, "hide", "comment", comment.id, {"from": "approved", "reports": reports}
        )
        self.events.comment_hidden(comment, reports)

    def _refuse_if_closed(self, comment: Comment) -> None:
        thread = Thread.get_by_id(comment.thread_id)
        if thread_closed(thread, self.config, self.clock):
            raise THREAD_LOCKED

    def _holds_token(self, comment_id: int, token: str | None) -> bool:
        if not token:
            return False
        try:
            self._authorize(comment_id, token)
        except CommentdError:  # an invalid or expired token is simply no proof of ownership
            return False
        return True

    def preview(self, data: Mapping[str, Any]) -> str:
        """The HTML a text would be stored as."""
        return render(validation.text(data.get("text"), max_length=self.config.comments.max_length))


def _already_reported() -> Conflict:
    return Conflict("You already reported this comment.", code="already_reported")


def _solution(value: Any) -> str | None:
    """The body's ``altcha`` member: checked for type and length whether or not a proof of work
    is asked (what it proves is checked only when one is)."""
    if value is not None and not isinstance(value, str):
        raise ValidationError("altcha must be a string.", code="invalid_type", field="altcha")
    if value is not None and len(value) > altcha.MAX_PAYLOAD:
        raise ValidationError(
            f"altcha must be at most {altcha.MAX_PAYLOAD} characters.",
            code="too_long",
            field="altcha",
        )
    return value


def _traps(data: Mapping[str, Any]) -> Traps:
    """The embed's bot traps from a request body; absent ones are simply not checked."""
    honeypot = data.get("homepage")
    stamp = data.get("form_stamp")
    return Traps(
        honeypot=honeypot if isinstance(honeypot, str) else "",
        form_stamp=stamp if isinstance(stamp, str) else None,
    )


def erase(comment: Comment, when: dt.datetime) -> None:
    """Mark ``comment`` deleted and drop everything it said and who said it: its words, its
    author's name, email, website, picture and network, and the keyed hashes of their
    address and reader id."""
    comment.status = Status.DELETED
    comment.text = ""
    comment.text_hash = None
    comment.html = ""
    comment.author = comment.email = comment.website = None
    comment.photo = comment.picture = None  # a remote author's picture, and its kept copy
    comment.remote_addr = comment.voter = comment.reader = None
    comment.notify = comment.notify_thread = False
    comment.modified = when
    comment.save()
