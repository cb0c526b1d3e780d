"""The public JSON API under /api. Each handler: parse, call one service, serialize."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import bottle

from commentd.config import Config
from commentd.errors import NotFound, ValidationError
from commentd.services import health
from commentd.services.cache import ResponseCache
from commentd.services.clients import AddressResolver
from commentd.services.comments import CommentService
from commentd.services.keys import Keys
from commentd.services.subscriptions import Subscriptions
from commentd.services.threads import ThreadService
from commentd.version import __version__
from commentd.web import caching, feeds, inputs, serialize
from commentd.web.origins import OriginPolicy

ID_PATTERN = "<comment_id:re:[0-9]{1,18}>"


@dataclass(frozen=True)
class Services:
    """What the routes call: built once by ``create_app``."""

    config: Config
    keys: Keys
    comments: CommentService
    threads: ThreadService
    addresses: AddressResolver
    responses: ResponseCache
    origins: OriginPolicy
    subscriptions: Subscriptions


def _comment_id(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise NotFound(f"No comment {raw}.", code="comment_not_found")
    return value


def register(app: bottle.Bottle, services: Services) -> caching.ReadCache:
    """Add the API routes to ``app``; return the reads' cache, for the fast path."""
    config = services.config
    limit = config.server.max_body_size
    present = serialize.Presenter(
        services.keys, services.comments, config.comments.gravatar, config.public_url
    )
    reads = caching.ReadCache(config, services.keys, services.threads, present, services.responses)
    app.add_hook("after_request", caching.no_store_for_writes)

    def environ() -> dict:
        return bottle.request.environ

    @app.get("/api/comments")
    def list_comments() -> bytes:
        return caching.respond(reads.thread(environ()))

    @app.post("/api/comments")
    def create_comment() -> dict[str, Any]:
        params = inputs.query(environ())
        data = inputs.json_object(environ(), limit)
        created = services.comments.create(
            inputs.one(params, "uri"),
            data,
            inputs.client(environ(), services.addresses),
            idempotency_key=environ().get("HTTP_IDEMPOTENCY_KEY"),
        )
        bottle.response.status = 201
        if created.replayed:
            bottle.response.set_header("Idempotent-Replayed", "true")
        return {
            "comment": present.owned_comment(created.comment),
            "token": created.token,
            # what the author asked for: "confirmed" (mails will come) or "unconfirmed"
            # (a confirmation mail comes first); null when nothing was asked
            "notifications": services.subscriptions.state(created.comment),
        }

    @app.get(f"/api/comments/{ID_PATTERN}")
    def get_comment(comment_id: str) -> dict[str, Any]:
        # With its token this is the author's own view (Markdown source, pending status):
        # no cache may keep it.
        bottle.response.set_header("Cache-Control", "no-store")
        owned = services.comments.get(_comment_id(comment_id), inputs.bearer_token(environ()))
        if owned.is_owner:
            return {"comment": present.owned_comment(owned.comment)}
        return {"comment": present.comment(owned.comment)}

    @app.put(f"/api/comments/{ID_PATTERN}")
    def edit_comment(comment_id: str) -> dict[str, Any]:
        data = inputs.json_object(environ(), limit)
        edited = services.comments.edit(
            _comment_id(comment_id), inputs.bearer_token(environ()), data
        )
        return {"comment": present.owned_comment(edited)}

    @app.delete(f"/api/comments/{ID_PATTERN}")
    def delete_comment(comment_id: str) -> dict[str, Any]:
        deleted = services.comments.delete(_comment_id(comment_id), inputs.bearer_token(environ()))
        return {"comment": present.comment(deleted)}

    def reader_act(act: Callable[..., Any], comment_id: str, field: str) -> Any:
        """A reader's vote or report: the body's ``field`` and reader id (``voter``), the
        client, and the edit token if one is sent (proof of authorship)."""
        data = inputs.json_object(environ(), limit)
        return act(
            _comment_id(comment_id),
            data.get(field),
            inputs.client(environ(), services.addresses),
            token=inputs.bearer_token(environ()),
            reader_id=data.get("voter"),
        )

    @app.post(f"/api/comments/{ID_PATTERN}/vote")
    def vote(comment_id: str) -> dict[str, Any]:
        voted = reader_act(services.comments.vote, comment_id, "value")
        return {
            "id": voted.comment.id,
            "likes": voted.comment.likes,
            "dislikes": voted.comment.dislikes,
            "vote": voted.value,
        }

    @app.post(f"/api/comments/{ID_PATTERN}/report")
    def report(comment_id: str) -> dict[str, Any]:
        reported = reader_act(services.comments.report, comment_id, "reason")
        # Accepted, whatever it led to: a reporter is not told whether the comment was hidden.
        bottle.response.status = 202
        return {"id": reported.id, "reported": True}

    @app.get("/api/counts")
    def counts_by_query() -> bytes:
        return caching.respond(reads.counts_by_query(environ()))

    @app.post("/api/counts")
    def counts_by_body() -> bytes:
        data = inputs.json_body(environ(), limit)
        uris = data.get("uris") if isinstance(data, dict) else data
        if not isinstance(uris, list):
            raise ValidationError(
                'Send a JSON list of uris, or {"uris": [...]}.', code="invalid_type", field="uris"
            )
        return caching.respond(reads.counts(environ(), uris, field="uris"))

    @app.post("/api/preview")
    def preview() -> dict[str, Any]:
        return {"html": services.comments.preview(inputs.json_object(environ(), limit))}

    @app.get("/api/challenge")
    def challenge() -> dict[str, Any]:
        # Each answer is a fresh, single-use challenge: no cache may keep or share it.
        bottle.response.set_header("Cache-Control", "no-store")
        params = inputs.query(environ())
        comments = services.comments
        needed = comments.challenge_for(
            inputs.client(environ(), services.addresses), inputs.one(params, "voter")
        )
        return {
            "required": bool(needed),
            "challenge": comments.pow.challenge(needed) if needed else None,
        }

    @app.get("/api/config")
    def client_config() -> dict[str, Any]:
        bottle.response.set_header("Cache-Control", "no-store")
        settings = config.comments
        return {
            "version": __version__,
            "max_length": settings.max_length,
            "max_depth": settings.max_depth,
            "edit_window": settings.edit_window,
            "require_author": settings.require_author,
            "require_email": settings.require_email,
            "page_size": settings.page_size,
            "max_page_size": settings.max_page_size,
            "gravatar": settings.gravatar,
            "moderation": list(config.moderation.mode),
            "form_stamp": services.comments.screener.form_stamp(),
            "min_submit_time": config.moderation.min_submit_time,
            "proof_of_work": config.spam.proof_of_work,
            "notifications": config.mail.enabled and config.mail.reply_notifications,
            "thread_notifications": config.mail.enabled and config.mail.thread_notifications,
            "origin_allowed": services.origins.may_write(environ()),
        }

    feeds.register(app, config, reads)

    def preflight(**_: str) -> None:
        bottle.response.status = 204

    for path in {route.rule for route in app.routes if route.rule.startswith("/api/")}:
        app.route(path, method="OPTIONS", callback=preflight)

    @app.get("/health")
    def health_check() -> dict[str, Any]:
        health.check_database()
        return {"status": "ok", "database": "ok", "version": __version__}

    return reads
