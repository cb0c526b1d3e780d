"""GET /metrics and the middleware that measures every request.

``install(app, config, addresses)`` wraps the app's WSGI callable in ``Instrument`` and adds
the route. ``Instrument`` counts each request into ``commentd_http_requests_total`` and
``commentd_http_request_duration_seconds`` labelled by the bottle route rule (``unmatched`` when
no route matched), so a label never holds a raw path; it also pushes to StatsD and writes the
access log. It costs a few microseconds per request (see docs/metrics.md).
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

import bottle

from commentd.config import Config
from commentd.errors import Forbidden
from commentd.services import metrics, outbox
from commentd.services.clients import AddressResolver
from commentd.services.validation import whole_number
from commentd.web import inputs
from commentd.web.accesslog import AccessLog

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})

_labels: dict[str, tuple[str, str]] = {UNMATCHED: (UNMATCHED, UNMATCHED)}


def _route_names(rule: str) -> tuple[str, str]:
    """A rule's label (``/api/comments/<comment_id>``) and StatsD slug, cached per rule."""
    names = _labels.get(rule)
    if names is None:
        label = re.sub(r"<(\w+)(?::[^>]*)?>", r"<\1>", rule)
        slug = re.sub(r"[^A-Za-z0-9_]+", ".", re.sub(r"[<>]", "", label)).strip(".") or "root"
        names = _labels[rule] = (label, slug)
    return names


def route_label(environ: dict) -> str:
    """The route rule that answered this request, or ``unmatched``."""
    route = environ.get("bottle.route")
    return _route_names(route.rule)[0] if route is not None else UNMATCHED


class Instrument:
    """WSGI middleware: request count and duration by route, StatsD, the access log."""

    def __init__(
        self, wsgi: Callable, access: AccessLog | None = None, statsd: metrics.StatsD | None = None
    ):
        self.wsgi = wsgi
        self.access = access if access is not None and access.enabled else None
        self.statsd = statsd

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        seen: list[Any] = []

        def recording(status: str, headers: list, exc_info: Any = None) -> Any:
            seen[:] = (status, headers)
            return start_response(status, headers, exc_info)

        body = self.wsgi(environ, recording)
        seconds = time.perf_counter() - started
        route = environ.get("bottle.route")
        label, slug = _route_names(route.rule) if route is not None else _labels[UNMATCHED]
        method = environ.get("REQUEST_METHOD", "")
        if method not in METHODS:
            method = "other"
        status = seen[0][:3] if seen else "500"
        # label tuples sorted by name, as Counter.add and Histogram.observe_key take them
        metrics.HTTP_REQUESTS.add((("method", method), ("route", label), ("status", status)))
        metrics.HTTP_DURATION.observe_key((("method", method), ("route", label)), seconds)
        if self.statsd is not None:
            self.statsd.count(f"requests.{status}")
            self.statsd.timing(f"request.{slug}", seconds * 1000)
        if self.access is not None:
            self.access.record(
                environ, route=label, status=int(status), size=_size(body, seen), seconds=seconds
            )
        return body


def _size(body: Iterable[bytes], seen: list[Any]) -> int | None:
    if isinstance(body, (list, tuple)):
        return sum(len(chunk) for chunk in body)
    for name, value in seen[1] if seen else ():
        if name.lower() == "content-length":
            return whole_number(value)
    return None


class MetricsAccess:
    """Who may read /metrics: a bearer of the token, or a client in the allowed networks."""

    def __init__(self, config: Config, addresses: AddressResolver):
        self.token = config.metrics.token.encode()
        self.networks = config.metrics.allowed_networks
        self.addresses = addresses

    def check(self, environ: dict) -> None:
        offered = inputs.bearer_token(environ)
        if offered is not None:
            if self.token and hmac.compare_digest(offered.encode(), self.token):
                return
            raise Forbidden("This token does not open /metrics.", code="metrics_forbidden")
        if not inputs.client(environ, self.addresses).within(self.networks):
            raise Forbidden(
                "/metrics is open to [metrics] allowed_networks or with the [metrics] token.",
                code="metrics_forbidden",
            )


def _outbox_messages() -> dict[metrics.Labels, float]:
    return {(("status", status),): count for status, count in outbox.counts().items()}


def install(
    app: bottle.Bottle, config: Config, addresses: AddressResolver, wsgi: Callable | None = None
) -> None:
    """Measure every request of ``app`` (answered by ``wsgi``, by default bottle's own
    callable), push to StatsD if set, and serve GET /metrics."""
    settings = config.metrics
    statsd = metrics.StatsD(settings.statsd, settings.statsd_prefix) if settings.statsd else None
    metrics.push_to(statsd)
    metrics.gauge(
        "commentd_outbox_messages",
        "Outbox messages by status (pending ones are the queue), read from the database.",
        _outbox_messages,
    )
    access = MetricsAccess(config, addresses)
    app.wsgi = Instrument(wsgi or app.wsgi, AccessLog(config.server.access_log, addresses), statsd)

    @app.get("/metrics")
    def metrics_page() -> bytes:
        access.check(bottle.request.environ)
        bottle.response.content_type = CONTENT_TYPE
        bottle.response.set_header("Cache-Control", "no-store")
        return metrics.render()
