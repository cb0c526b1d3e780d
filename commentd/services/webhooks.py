"""Webhooks: comment events POSTed to configured URLs, signed with HMAC-SHA256.

The body is built when the event happens (so a retry sends the same event) in the configured
format: commentd's own JSON, or a Slack, Discord or Matrix (hookshot) message. Every request
carries ``X-Commentd-Event``, ``X-Commentd-Timestamp`` and ``X-Commentd-Signature:
sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" under [webhooks] secret>``. Any 2xx answer is
success; anything else, or no answer, is retried through the outbox. Bodies never carry a
commenter's email or address.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any

from commentd.config import WebhooksConfig
from commentd.version import __version__

KIND = "webhook"
EXCERPT = 500
DESCRIPTIONS = {
    "comment.created": "New comment",
    "comment.approved": "Comment approved",
    "comment.deleted": "Comment deleted",
    "comment.hidden": "Comment hidden after readers' reports",
}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer that is not 2xx, not a new place to send the event."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Commentd-Signature`` value for a body sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _summary(event: str, comment: dict[str, Any]) -> str:
    author = comment.get("author") or "Anonymous"
    text = comment.get("text") or ""
    if len(text) > EXCERPT:
        text = text[:EXCERPT] + "…"
    head = f"{DESCRIPTIONS.get(event, event)} by {author} on {comment['uri']}"
    if event == "comment.created":
        head += f" ({comment['status']})"
    lines = [head, text, comment["url"]] if text else [head, comment["url"]]
    return "\n".join(lines)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def body(format_: str, event: str, comment: dict[str, Any], sent_at: str) -> dict[str, Any]:
    """The JSON body for ``event`` in ``format_`` (json, slack, discord or matrix).

    ``comment`` holds public fields only: id, uri, parent, author, text, html, status,
    created and url.
    """
    if format_ == "slack":
        return {"text": _slack_escape(_summary(event, comment))}
    if format_ == "discord":
        # no @everyone or role pings from a reader's text
        return {"content": _summary(event, comment)[:2000], "allowed_mentions": {"parse": []}}
    if format_ == "matrix":
        return {"msgtype": "m.text", "body": _summary(event, comment)}
    public = {key: value for key, value in comment.items() if key != "text"}
    return {"event": event, "created": sent_at, "comment": public}


def deliver(config: WebhooksConfig, url: str, payload: dict[str, Any]) -> None:
    """POST a queued event to ``url``; raises unless the answer is 2xx."""
    data = json.dumps(payload["body"], ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 - urls are checked http(s) at config load
        url,
        data=data,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": f"commentd/{__version__}",
            "X-Commentd-Event": payload["event"],
            "X-Commentd-Timestamp": timestamp,
            "X-Commentd-Signature": signature(config.secret, timestamp, data),
        },
    )
    try:
        with _OPENER.open(request, timeout=config.timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        raise RuntimeError(f"{url} answered {exc.code} {exc.reason}") from None
    if not 200 <= status < 300:
        raise RuntimeError(f"{url} answered {status}")
