"""The account's inbox: what other servers send, checked and turned into comments.

A request is refused with 401 unless it is signed (``signatures``): the signature covers
``(request-target)``, ``host``, ``date`` and ``digest``, the date is within ``[fediverse]
signature_window``, the digest matches the body, the key is the signer's (fetched from its
actor, kept, fetched again once when the kept one fails: a rotated key) and the activity's
``actor`` is the key's owner. An instance on a banned domain (``commentd ban domain``) gets
403 before anything is fetched.

Then, by type:

- ``Follow`` of the account: kept in ``follower``, answered with ``Accept``;
- ``Create`` of a ``Note`` replying to a published post, to one of the blog's comments or to
  a reply already held: a comment (kind ``fediverse``) nested under what it answers, with the
  author's name, profile and avatar, its HTML sanitized by ``render`` (a content warning
  first, in bold; attached pictures as links, never loaded), its address kept, and
  screened as any comment is (blocklists, link limit, filter, Akismet, moderation mode, with
  "first" keyed by the remote account);
- ``Update`` of such a note edits its comment; of the actor, refreshes the copy kept;
- ``Delete`` of such a note erases its comment; of the actor, erases all its comments,
  reactions and its follow;
- ``Like`` and ``Announce`` of a published post count on its thread (``reaction``);
- ``Undo`` of a Follow, Like or Announce takes it back.

Anything else, or anything about objects that are not ours, is ignored (still 202).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from html import escape
from typing import Any

from commentd.config import Config
from commentd.errors import BadRequest, CommentdError, Forbidden
from commentd.services import avatars, bans, metrics
from commentd.services.clients import Client
from commentd.services.comments import bump_version, erase, thread_for_write
from commentd.services.events import Events
from commentd.services.fediverse import delivery, signatures
from commentd.services.fediverse.documents import Account
from commentd.services.fediverse.remote import (
    Remote,
    RemoteError,
    clean_id,
    first,
    host_of,
    id_of,
    link_of,
    origin,
)
from commentd.services.fediverse.signatures import SignatureError, SignedRequest
from commentd.services.importers.htmltext import html_to_text
from commentd.services.render import render
from commentd.services.screening import Screener, Traps, check_links
from commentd.services.spam import Submission
from commentd.services.webmention_verify import MAX_URL
from commentd.storage.database import write_transaction
from commentd.storage.models import (
    Comment,
    FediversePost,
    Follower,
    Reaction,
    RemoteActor,
    RemoteNote,
    Status,
    Thread,
    text_hash,
    utcnow,
)

KIND = "fediverse"  # Comment.kind of a reply from the Fediverse
TYPES = ("Follow", "Undo", "Create", "Update", "Delete", "Like", "Announce", "Accept", "Reject")
NOTE_TYPES = ("Note", "Article", "Page")
REACTIONS = {"Like": "like", "Announce": "repost"}
MAX_WEBSITE = 512  # Comment.website
MAX_WARNING = 200  # a content warning's or an attachment's description shown
MAX_ATTACHMENTS = 4


def _attachments(value: Any) -> list[str]:
    """A note's attachments (pictures, videos) as links to them, each named by its
    description or its file name: never loaded, only linked."""
    items = value if isinstance(value, list) else [value]
    links = []
    for item in items[:MAX_ATTACHMENTS]:
        if not isinstance(item, dict):
            continue
        url = link_of(item.get("url") or item.get("href"))
        if url is None:
            continue
        name = item.get("name") if isinstance(item.get("name"), str) else ""
        name = " ".join(name.split())[:MAX_WARNING] or url.rsplit("/", 1)[-1] or url
        links.append(f'<p><a href="{escape(url)}">{escape(name)}</a></p>')
    return links


class Ignored(Exception):
    """Nothing of ours: the activity is taken (202) and nothing changes."""


def _activity(body: bytes) -> dict[str, Any]:
    try:
        activity = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("The body is not JSON.", code="invalid_activity") from None
    if not isinstance(activity, dict):
        raise BadRequest("The body is not an activity.", code="invalid_activity")
    if not isinstance(activity.get("type"), str) or not id_of(activity.get("actor")):
        raise BadRequest("An activity needs a type and an actor.", code="invalid_activity")
    if clean_id(activity.get("id")) is None:
        raise BadRequest("An activity needs an id.", code="invalid_activity")
    return activity


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _moment(value: Any, now: dt.datetime) -> dt.datetime:
    """An ActivityStreams time as naive UTC, never later than ``now`` (else ``now``):
    ``Z`` and fractions finer than microseconds (Fedify writes nanoseconds) are read."""
    if not isinstance(value, str):
        return now
    text = _FRACTION.sub(r"\1", value.strip())
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return now
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return min(moment, now)


def _mention(account: str) -> re.Pattern[str]:
    """The ``@account`` link a reply starts with (Mastodon's h-card mention), to drop."""
    name = re.escape(account)
    return re.compile(
        rf"^(\s*<p[^>]*>)?\s*(?:<span[^>]*>\s*)?<a\s[^>]*>\s*@(?:<span[^>]*>)?{name}"
        rf"(?:</span>)?(?:@[^<\s]*)?\s*</a>\s*(?:</span>)?\s*",
        re.IGNORECASE,
    )


class Inbox:
    """Takes activities for the account: ``receive(request)`` for each POST."""

    def __init__(
        self,
        config: Config,
        remote: Remote,
        site: Callable[[], tuple[Screener, Events]],
        clock: Callable[[], dt.datetime] = utcnow,
    ):
        self.config = config
        self.account = Account(config)
        self.remote = remote
        self.site = site
        self.clock = clock
        self.mention = _mention(config.fediverse.account or "-")

    def receive(self, request: SignedRequest) -> str:
        """Check and handle one POST; its outcome (``done`` or ``ignored``). Raises
        ``SignatureError`` (401), ``Forbidden`` (403), ``BadRequest`` (400)."""
        kind = "other"
        try:
            signature = signatures.parse(request.header("signature"))
            signatures.precheck(
                signature, request, self.clock(), self.config.fediverse.signature_window
            )
            activity = _activity(request.body)
            kind = activity["type"] if activity["type"] in TYPES else "other"
            actor = self._signer(signature, request, activity)
            if activity["type"] not in TYPES:
                raise Ignored
            getattr(self, f"_on_{activity['type'].lower()}")(activity, actor)
        except Ignored:
            metrics.FEDIVERSE_ACTIVITIES.inc({"type": kind, "outcome": "ignored"})
            return "ignored"
        except CommentdError:
            metrics.FEDIVERSE_ACTIVITIES.inc({"type": kind, "outcome": "refused"})
            raise
        metrics.FEDIVERSE_ACTIVITIES.inc({"type": kind, "outcome": "done"})
        return "done"

    # -- who sent it --------------------------------------------------------------------

    def _signer(
        self, signature: signatures.Signature, request: SignedRequest, activity: dict[str, Any]
    ) -> RemoteActor:
        """The actor whose key signed ``request``, which must be the activity's actor."""
        claimed = id_of(activity.get("actor")) or ""
        self._refuse_banned(signature.key_id, claimed)
        leaving = activity["type"] == "Delete" and id_of(activity.get("object")) == claimed
        try:
            actor = self.remote.signer(signature.key_id)
        except RemoteError as exc:
            if leaving:
                raise Ignored from None  # an account we never knew, deleted: nothing to do
            raise SignatureError(
                f"The signer's key cannot be had: {exc.message}", code="signature_key_unavailable"
            ) from None
        try:
            signatures.verify(signature, request, signatures.load_public_key(actor.public_key))
        except SignatureError:
            if leaving:
                raise  # a deleted account's key cannot be fetched again
            try:
                actor = self.remote.signer(signature.key_id, refresh=True)
            except RemoteError as exc:
                raise SignatureError(
                    f"The signer's key cannot be had: {exc.message}",
                    code="signature_key_unavailable",
                ) from None
            signatures.verify(signature, request, signatures.load_public_key(actor.public_key))
        if claimed != actor.uri:
            raise SignatureError(
                "The activity's actor is not the signer.", code="signature_actor_mismatch"
            )
        return actor

    def _refuse_banned(self, *urls: str) -> None:
        domains = bans.lists().domains
        for url in urls:
            domain = bans.domain_banned(host_of(url), domains)
            if domain:
                raise Forbidden(f"The instance {domain} is blocked here.", code="instance_blocked")

    def _object(self, activity: dict[str, Any]) -> dict[str, Any]:
        """The activity's object, fetched when only its id came."""
        value = first(activity.get("object"))
        if isinstance(value, dict):
            return value
        if isinstance(value, str):
            try:
                return self.remote.document(value)
            except RemoteError:
                raise Ignored from None
        raise Ignored

    # -- follows ------------------------------------------------------------------------

    def _on_follow(self, activity: dict[str, Any], actor: RemoteActor) -> None:
        if id_of(activity.get("object")) != self.account.actor:
            raise Ignored
        now = self.clock()
        digest = hashlib.sha256(activity["id"].encode()).hexdigest()[:32]
        accept = self.account.activity(
            "Accept",
            {
                "id": activity["id"],
                "type": "Follow",
                "actor": actor.uri,
                "object": self.account.actor,
            },
            f"{self.account.actor}#accepts/{digest}",
            now,
            to=[actor.uri],
            cc=[],
        )
        with write_transaction():
            follower = Follower.get_or_none(Follower.actor == actor)
            if follower is None:
                Follower.create(actor=actor, follow=activity["id"], created=now)
            else:
                follower.follow = activity["id"]
                follower.save()
            delivery.queue(accept, [actor.inbox])

    def _on_undo(self, activity: dict[str, Any], actor: RemoteActor) -> None:
        inner = first(activity.get("object"))
        inner_id = id_of(inner)
        inner_type = inner.get("type") if isinstance(inner, dict) else None
        with write_transaction():
            follows = Follower.delete().where(Follower.actor == actor)
            if inner_type != "Follow":
                follows = follows.where(Follower.follow == inner_id)
            undone = follows.execute()
            for reaction in Reaction.select().where(
                (Reaction.activity == inner_id) & (Reaction.actor == actor)
            ):
                reaction.delete_instance()
                bump_version(reaction.thread_id)
                undone += 1
        if not undone:
            raise Ignored

    def _on_accept(self, activity: dict[str, Any], actor: RemoteActor) -> None:
        raise Ignored  # the account follows no one

    _on_reject = _on_accept

    # -- reactions ----------------------------------------------------------------------

    def _post(self, object_id: str | None) -> FediversePost | None:
        """The published post that ``object_id`` is (its ``Article`` or its page)."""
        if not object_id:
            return None
        thread_id = self.account.local_id(object_id, "posts")
        with_thread = FediversePost.select(FediversePost, Thread).join(Thread)
        if thread_id is not None:
            return with_thread.where(FediversePost.thread == thread_id).get_or_none()
        return with_thread.where(FediversePost.url == object_id).get_or_none()

    def _on_like(self, activity: dict[str, Any], actor: RemoteActor) -> None:
        post = self._post(id_of(activity.get("object")))
        if post is None:
            raise Ignored
        with write_transaction():
            added = (
                Reaction.insert(
                    activity=activity["id"],
                    thread=post.thread_id,
                    actor=actor,
                    kind=REACTIONS[activity["type"]],
                    created=self.clock(),
                )
                .on_conflict_ignore()
                .execute()
            )
            if added:
                bump_version(post.thread_id)

    _on_announce = _on_like

    # -- replies ------------------------------------------------------------------------

    def _in_reply_to(self, target: str | None) -> tuple[Thread, Comment | None]:
        """The thread and the comment (None: the post itself) that a note answers."""
        post = self._post(target)
        if post is not None:
            return post.thread, None
        comment_id = self.account.local_id(target or "", "comments")
        parent = None
        if comment_id is not None:
            parent = Comment.get_or_none(
                (Comment.id == comment_id) & (Comment.status == Status.APPROVED)
            )
        elif target:
            note = RemoteNote.get_or_none(RemoteNote.uri == target)
            parent = note.comment if note is not None else None
        if parent is None:
            raise Ignored
        return parent.thread, parent

    def _content(self, note: dict[str, Any]) -> tuple[str, str]:
        """A note's words: (text, sanitized HTML), its leading @-mention of us dropped; a
        content warning (``summary``) first, in bold, and its attachments as links last."""
        content = note.get("content")
        if not isinstance(content, str):
            mapped = note.get("contentMap")
            found = (
                [v for v in mapped.values() if isinstance(v, str)]
                if isinstance(mapped, dict)
                else []
            )
            content = found[0] if found else ""
        content = self.mention.sub(lambda m: m.group(1) or "", content[: 64 * 1024], count=1)
        warning = note.get("summary")
        if isinstance(warning, str) and warning.strip():
            content = f"<p><strong>{escape(warning.strip()[:MAX_WARNING])}</strong></p>{content}"
        content += "".join(_attachments(note.get("attachment")))
        html = render(content.replace("\x00", ""), source="html")  # PostgreSQL takes no NUL
        text = html_to_text(html).strip()
        limit = self.config.comments.max_length
        if len(text) > limit:
            text = text[: limit - 1].rstrip() + "…"
            html = render(text)
        if not text:
            raise Ignored  # no words and nothing attached: nothing to show as a comment
        return text, html

    @staticmethod
    def _website(actor: RemoteActor) -> str | None:
        """The author's profile as a comment's website (which holds 512 characters)."""
        url = actor.url
        return url if url and len(url) <= MAX_WEBSITE else None

    def _own_note(self, note: dict[str, Any], actor: RemoteActor) -> str:
        """The note's id, after checking that it is the actor's (on its host, by it)."""
        note_id = id_of(note)
        if not note_id or len(note_id) > MAX_URL or origin(note_id) != origin(actor.uri):
            raise Forbidden("The note is not the actor's.", code="object_not_owned")
        author = id_of(note.get("attributedTo"))
        if author is not None and author != actor.uri:
            raise Forbidden("The note is not the actor's.", code="object_not_owned")
        return note_id

    def _on_create(self, activity: dict[str, Any], actor: RemoteActor) -> None:
        note = self._object(activity)
        if note.get("type") not in NOTE_TYPES:
            raise Ignored
        note_id = self._own_note(note, actor)
        kept = RemoteNote.get_or_none(RemoteNote.uri == note_id)
        if kept is not None:
            self._edit(kept, note)
            return
        thread, parent = self._in_reply_to(id_of(note.get("inReplyTo")))
        text, html = self._content(note)
        check_links(html, self.config.comments.max_links)
        screener, events = self.site()
        submission = Submission(
            uri=thread.uri,
            text=text,
            author=actor.name,
            email=None,
            website=self._website(actor),
            address="",
            user_agent="",
        )
        same_account = Comment.id.in_(
            RemoteNote.select(RemoteNote.comment).where(RemoteNote.actor == actor)
        )
        verdict = screener.screen(submission, html, Client(), Traps(), sender=same_account)
        source = link_of(note.get("url"))
        with write_transaction():
            thread = thread_for_write(self.config, thread.uri, None, self.clock)
            comment = Comment.create(
                thread=thread,
                parent=parent,
                author=actor.name,
                website=self._website(actor),
                photo=actor.icon,
                text=text,
                text_hash=text_hash(text),
                html=html,
                created=_moment(note.get("published"), self.clock()),
                status=verdict.status,
                caught_by=verdict.signal,
                kind=KIND,
                source=source or note_id,
            )
            picture = avatars.want(actor.icon)
            if picture is not None:
                comment.picture = picture
                comment.save(only=[Comment.picture])
            RemoteNote.create(uri=note_id, comment=comment, actor=actor)
            if comment.status == Status.APPROVED:
                bump_version(thread.id)
            events.comment_created(comment)

    def _edit(self, kept: RemoteNote, note: dict[str, Any]) -> None:
        comment = kept.comment
        if comment.status == Status.DELETED:
            raise Ignored
        text, html = self._content(note)
        check_links(html, self.config.comments.max_links)
        with write_transaction():
            comment.text, comment.text_hash, comment.html = text, text_hash(text), html
            comment.modified = _moment(note.get("updated"), self.clock())
            comment.save()
            if comment.status == Status.APPROVED:
                bump_version(comment.thread_id)

    def _on_update(self, activity: dict[str, Any], actor: RemoteActor) -> None:
        obj = self._object(activity)
        if id_of(obj) == actor.uri:
            try:
                self.remote.actor(actor.uri, refresh=True)
            except RemoteError:
                raise Ignored from None
            return
        if obj.get("type") not in NOTE_TYPES:
            raise Ignored
        kept = RemoteNote.get_or_none(
            (RemoteNote.uri == self._own_note(obj, actor)) & (RemoteNote.actor == actor)
        )
        if kept is None:
            raise Ignored
        self._edit(kept, obj)

    def _on_delete(self, activity: dict[str, Any], actor: RemoteActor) -> None:
        target = id_of(activity.get("object"))
        _, events = self.site()
        notes = RemoteNote.select().where(RemoteNote.actor == actor)
        if target != actor.uri:
            notes = notes.where(RemoteNote.uri == target)
        removed = 0
        with write_transaction():
            for note in notes:
                comment = note.comment
                if comment.status != Status.DELETED:
                    erase(comment, self.clock())
                    bump_version(comment.thread_id)
                    events.comment_deleted(comment)
                    removed += 1
            if target == actor.uri:
                for reaction in Reaction.select().where(Reaction.actor == actor):
                    reaction.delete_instance()
                    bump_version(reaction.thread_id)
                removed += Follower.delete().where(Follower.actor == actor).execute()
        if not removed:
            raise Ignored
