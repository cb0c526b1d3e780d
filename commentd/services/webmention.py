"""Receiving Webmentions (W3C Recommendation, the receiver's side): the request's checks.

``receive`` checks a request as the spec asks (``source`` and ``target`` are http(s) URLs,
they differ, and ``target`` is a page of this site: ``[site] url`` plus a thread's uri),
records it (the same source and target again is the same row, queued anew) and queues its
verification in the outbox, in one transaction. Nothing is fetched here: verification
(``webmention_verify.py``) runs in the outbox worker, off the request path.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from commentd.config import Config
from commentd.errors import NotFound, ValidationError
from commentd.services import metrics, outbox
from commentd.services.keys import keyed_hash
from commentd.storage.database import write_transaction
from commentd.storage.models import Webmention, utcnow

KIND = "webmention"  # the outbox messages that verify one
MAX_URL = 1024
STATUSES = ("queued", "verified", "rejected", "deleted")


# An absolute http(s) URL in printable ASCII (non-ASCII hosts and paths come encoded, as
# senders send them), with an optional port up to 65535. The same pattern is the OpenAPI
# schema's for ``source`` and ``target``.
_PORT = r"(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
URL_PATTERN = (
    r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9._~%!$&'()*+,;=-]+" + _PORT + r"(?:[/?#][!-~]*)?$"
)
_URL = re.compile(URL_PATTERN)


def _url(value: str | None, field: str, code: str) -> str:
    """``value`` as an absolute http(s) URL without its fragment; 400 otherwise."""
    if not value:
        raise ValidationError(f"The form needs a {field} URL.", code=code, field=field)
    if len(value) > MAX_URL or not _URL.fullmatch(value):
        raise ValidationError(
            f"The {field} must be an http or https URL of at most {MAX_URL} characters.",
            code=code,
            field=field,
        )
    parts = urlsplit(value)
    scheme, netloc = parts.scheme.lower(), parts.netloc.lower()
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _same_origin(a: str, b: str) -> bool:
    one, two = urlsplit(a), urlsplit(b)
    ports = {"http": 80, "https": 443}
    return (one.scheme, one.hostname, one.port or ports[one.scheme]) == (
        two.scheme,
        two.hostname,
        two.port or ports[two.scheme],
    )


def thread_uri(config: Config, target: str) -> str:
    """The thread uri of ``target``, a page of ``[site] url``; 400 when it is not one."""
    site = config.site.url.rstrip("/")
    base = urlsplit(site).path.rstrip("/")
    parts = urlsplit(target)
    if not site or not _same_origin(target, site) or not (parts.path + "/").startswith(base + "/"):
        raise ValidationError(
            f"The target must be a page of {site or 'this site'}.",
            code="unknown_target",
            field="target",
        )
    return parts.path[len(base) :] or "/"


class Receiver:
    """Takes Webmentions for one site."""

    def __init__(
        self, config: Config, status_key: bytes, clock: Callable[[], dt.datetime] = utcnow
    ):
        self.config = config
        self.status_key = status_key
        self.clock = clock

    def token(self, webmention_id: int) -> str:
        """The token of a Webmention's status URL, so that ids cannot be walked."""
        return keyed_hash(self.status_key, f"webmention-status\n{webmention_id}")

    def receive(self, source: str | None, target: str | None) -> Webmention:
        """Record a Webmention and queue its verification; the row, status ``queued``."""
        if not self.config.receives_webmentions:
            raise NotFound("This site takes no Webmentions.", code="webmentions_off")
        source = _url(source, "source", code="invalid_source")
        target = _url(target, "target", code="invalid_target")
        if source == target:
            raise ValidationError(
                "The source and the target must be different pages.",
                code="same_source_and_target",
                field="source",
            )
        uri = thread_uri(self.config, target)
        now = self.clock()
        with write_transaction():
            found = Webmention.get_or_none(
                (Webmention.source == source) & (Webmention.target == target)
            )
            if found is None:
                found = Webmention.create(source=source, target=target, uri=uri, received=now)
            else:
                found.status, found.received, found.error = "queued", now, None
                found.save(only=[Webmention.status, Webmention.received, Webmention.error])
            outbox.enqueue(KIND, source, {"id": found.id})
        metrics.WEBMENTIONS.inc({"outcome": "received"})
        return found

    def status(self, webmention_id: int, token: str | None) -> Webmention:
        """The Webmention ``webmention_id``, for the holder of its status URL's token."""
        found = Webmention.get_or_none(Webmention.id == webmention_id)
        if (
            found is None
            or not token
            or not hmac.compare_digest(token.encode(), self.token(found.id).encode())
        ):
            raise NotFound(f"No Webmention {webmention_id}.", code="webmention_not_found")
        return found
