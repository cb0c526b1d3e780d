"""Fetching a page a stranger named (a Webmention's source, a page's links), safely.

Every fetch is bounded: in time (``timeout`` for the whole answer, not per read), in size
(``max_bytes``; a longer answer is refused, not cut), and in redirects (``max_redirects``,
each new address checked again). Only ``http`` and ``https`` are fetched, on their usual or
any given port. The host is resolved here and every address it has must be public: loopback,
private, link-local (169.254.169.254, the cloud metadata service), multicast, reserved and
unspecified addresses are refused, unless ``allow_private`` (a test-only setting) lets them
through. The connection then goes to the very address that was checked, so a DNS answer that
changes between the check and the connection (DNS rebinding) cannot reach anything else.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from email.message import Message
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from commentd.errors import CommentdError
from commentd.version import __version__

if TYPE_CHECKING:
    from commentd.config import WebmentionConfig

USER_AGENT = f"commentd/{__version__} (Webmention; +https://www.w3.org/TR/webmention/)"
REDIRECTS = (301, 302, 303, 307, 308)
CHUNK = 65_536


class FetchError(CommentdError):
    """A page that could not be fetched, or was refused; ``code`` says which."""

    status = 400
    code = "fetch_failed"


@dataclass(frozen=True)
class Limits:
    """How far one fetch may go."""

    timeout: float = 10.0
    max_bytes: int = 1_048_576
    max_redirects: int = 3
    allow_private: bool = False


def limits_for(settings: WebmentionConfig) -> Limits:
    """The bounds of every fetch of another site's page, from ``[webmention]``."""
    return Limits(
        timeout=float(settings.timeout),
        max_bytes=settings.max_bytes,
        max_redirects=settings.max_redirects,
        allow_private=settings.allow_private_addresses,
    )


@dataclass(frozen=True)
class Page:
    """A fetched answer: the final URL (after redirects), status, headers and body."""

    url: str
    status: int
    headers: Message
    body: bytes

    @property
    def content_type(self) -> str:
        """The media type, lower case, without parameters ("" when none)."""
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str:
        """The declared character set, or utf-8."""
        return self.headers.get_content_charset() or "utf-8"

    def text(self) -> str:
        """The body as text, undecodable bytes replaced."""
        try:
            return self.body.decode(self.charset, errors="replace")
        except LookupError:  # a charset Python does not know
            return self.body.decode("utf-8", errors="replace")

    def header_links(self, name: str = "Link") -> list[str]:
        """Every value of the header ``name`` (a header may come several times)."""
        return self.headers.get_all(name) or []


def is_public(address: str) -> bool:
    """Whether ``address`` (an IP) is on the public internet."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def _address(host: str, port: int, limits: Limits, deadline: float) -> str:
    """The address to connect to for ``host``: refused unless every address it has is
    public (or ``allow_private``)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"Cannot resolve {host}: {exc}.", code="fetch_unresolved") from None
    if time.monotonic() > deadline:
        raise FetchError("The fetch took too long.", code="fetch_timeout")
    addresses = [info[4][0] for info in found]
    if not addresses:
        raise FetchError(f"Cannot resolve {host}.", code="fetch_unresolved")
    if not limits.allow_private:
        for address in addresses:
            if not is_public(address):
                raise FetchError(
                    f"{host} is at a private, loopback or link-local address ({address}); "
                    "such addresses are never fetched.",
                    code="fetch_private_address",
                )
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to an address checked beforehand, whatever the host resolves to."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address; the certificate is still checked for the host's name."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def _split(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an http(s) URL; refused otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FetchError(f"Not a URL: {url[:200]!r}.", code="fetch_bad_url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(
            f"Only http and https URLs are fetched, not {url[:200]!r}.", code="fetch_bad_url"
        )
    if parts.username or parts.password:
        raise FetchError("URLs with a user name or password are not fetched.", code="fetch_bad_url")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def _once(url: str, limits: Limits, deadline: float, method: str, body: bytes | None, headers):
    """One request, no redirect followed: (status, headers, body)."""
    scheme, host, port, path = _split(url)
    address = _address(host, port, limits, deadline)
    left = max(0.1, deadline - time.monotonic())
    kind = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = kind(host, port, address, timeout=left)
    try:
        connection.request(
            method,
            path,
            body=body,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **headers},
        )
        response = connection.getresponse()
        declared = response.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > limits.max_bytes:
            raise FetchError(
                f"{url[:200]} is larger than {limits.max_bytes} bytes.", code="fetch_too_large"
            )
        chunks, size = [], 0
        while True:
            if time.monotonic() > deadline:
                raise FetchError("The fetch took too long.", code="fetch_timeout")
            chunk = response.read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > limits.max_bytes:
                raise FetchError(
                    f"{url[:200]} is larger than {limits.max_bytes} bytes.",
                    code="fetch_too_large",
                )
            chunks.append(chunk)
        return response.status, response.msg, b"".join(chunks)
    except TimeoutError:
        raise FetchError("The fetch took too long.", code="fetch_timeout") from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"Cannot fetch {url[:200]}: {exc}.", code="fetch_failed") from None
    finally:
        connection.close()


def fetch(
    url: str,
    limits: Limits,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Page:
    """``url``'s answer, whatever its status (a 404 or 410 is an answer too), after at most
    ``limits.max_redirects`` redirects; a POST that is redirected with 301, 302 or 303
    becomes a GET, as browsers do. Raises ``FetchError`` for what ``Limits`` refuses."""
    deadline = time.monotonic() + limits.timeout
    for _ in range(limits.max_redirects + 1):
        status, answer_headers, data = _once(url, limits, deadline, method, body, headers or {})
        location = answer_headers.get("Location")
        if status not in REDIRECTS or not location:
            return Page(url, status, answer_headers, data)
        url = urljoin(url, location.strip())
        if status in (301, 302, 303) and method == "POST":
            method, body = "GET", None
    raise FetchError(
        f"More than {limits.max_redirects} redirects.", code="fetch_too_many_redirects"
    )
