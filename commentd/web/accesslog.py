"""The access log: one line per request, as text, as JSON, or none.

What a line may hold is decided here, in one place: the method, the route rule, the path
without its query string (a query may carry a token or name a reader's page), the status,
the body size, the time taken and the client's network (IPv4 /24, IPv6 /48), never its full
address, an email or a user agent.

``text`` goes through the ``commentd.access`` logger as it always has; ``json`` writes one bare
JSON object per line to stderr (not through the logging formatter, which would prefix it), so
a log collector can parse every line as it is.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import sys
import threading
from typing import Any

from commentd.services.clients import AddressResolver, anonymize_ip

log = logging.getLogger("commentd.access")

MODES = ("text", "json", "off")


@functools.lru_cache(maxsize=4096)
def _network(resolver: AddressResolver, peer: str, forwarded_for: str | None) -> str:
    """Parsing addresses costs more than the rest of a log line: a client is seen again."""
    return anonymize_ip(resolver.resolve(peer, forwarded_for).address) or "-"


class AccessLog:
    """Writes one access-log line per request in ``mode`` (text, json; off writes none)."""

    def __init__(self, mode: str, resolver: AddressResolver):
        if mode not in MODES:
            raise ValueError(f"access log mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode = mode
        self.resolver = resolver
        self.lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    def network(self, environ: dict) -> str:
        """The client's network (after trusted proxies), or ``-`` when it is no address."""
        return _network(
            self.resolver, environ.get("REMOTE_ADDR") or "", environ.get("HTTP_X_FORWARDED_FOR")
        )

    def record(
        self, environ: dict, *, route: str, status: int, size: int | None, seconds: float
    ) -> None:
        """Log one finished request."""
        if self.mode == "text":
            log.info(
                "%s %s %s %s %.1fms %s",
                environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"),
                status,
                "-" if size is None else size,
                seconds * 1000,
                self.network(environ),
            )
        elif self.mode == "json":
            line = json.dumps(self.entry(environ, route, status, size, seconds)) + "\n"
            with self.lock:
                try:
                    sys.stderr.write(line)
                    sys.stderr.flush()
                except (OSError, ValueError):  # a closed or broken stderr loses the line
                    pass

    def entry(
        self, environ: dict, route: str, status: int, size: int | None, seconds: float
    ) -> dict[str, Any]:
        """The JSON access-log object for one request."""
        now = dt.datetime.now(dt.UTC)
        return {
            "time": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "method": environ.get("REQUEST_METHOD"),
            "route": route,
            "path": environ.get("PATH_INFO"),
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "bytes": size,
            "client": self.network(environ),
        }
