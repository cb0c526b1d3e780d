"""The Fediverse inbox's cost per reply against an ordinary comment's, measured in one run.

Run: ``.venv/bin/python tests/bench/bench_inbox.py [--seconds 5]``

One app (``create_app``) on a fresh SQLite file, called in-process through WSGI (no network,
no load generator in the way): the baseline is ``POST /api/comments`` of a reply of the same
length, the case is a signed ``Create`` of a ``Note`` replying to a published post, posted to
``POST /ap/inbox`` (the sender's key already kept, as it is after its first activity). Both
store one approved comment. It prints requests/s of each, their ratio, and the RSA-SHA256
verification alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere

from commentd.app import create_app
from commentd.config import load_config
from commentd.services.fediverse import signatures
from commentd.services.fediverse.publish import Publisher
from commentd.storage.database import connection
from tests.fediverse.remote import RemoteAccount
from tests.pages import serving

BLOG = "https://blog.example.com"
URI = "/2026/bench/"
WORDS = "A reply of some length, with a few words in it, as replies from Mastodon are. " * 3


def call(app, method: str, path: str, body: bytes, headers: dict[str, str]) -> int:
    """One WSGI request; the status code."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path.split("?")[0],
        "QUERY_STRING": path.partition("?")[2],
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": headers.pop("Content-Type", ""),
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    status = []
    chunks = app(environ, lambda s, h, e=None: status.append(s))
    b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return int(status[0].split()[0])


def rate(seconds: float, once) -> float:
    """Calls of ``once`` per second over ``seconds`` (after a short warm-up)."""
    for _ in range(20):
        once()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        once()
        count += 1
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, serving() as remote_site:
        config = load_config(
            None,
            environ={},
            overrides={
                "database.url": f"sqlite:///{folder}/bench.db",
                "security.secret": "s" * 40,
                "site.url": BLOG,
                "server.public_url": "http://127.0.0.1:8080",
                "server.allowed_origins": BLOG,
                "fediverse.account": "blog",
                "webmention.allow_private_addresses": True,
                "ratelimit.comments_per_minute": 0,
                "ratelimit.comments_per_hour": 0,
                "moderation.min_submit_time": 0,
                "moderation.mode": "off",
                "spam.proof_of_work": "off",
            },
        )
        app = create_app(config)
        with connection():
            Publisher(config).publish(BLOG + URI, "Bench")
        account = RemoteAccount(remote_site, "bench")
        article = "http://127.0.0.1:8080/ap/posts/1"
        serial = [0]

        def comment() -> None:
            serial[0] += 1
            body = json.dumps({"text": f"{WORDS} #{serial[0]}", "author": "Ada"}).encode()
            headers = {"Content-Type": "application/json", "Origin": BLOG}
            assert call(app, "POST", f"/api/comments?uri={URI}", body, headers) == 201

        def signed_create() -> tuple[bytes, dict[str, str]]:
            serial[0] += 1
            note = account.note(article, f"<p>{WORDS} #{serial[0]}</p>")
            return account.signed(
                "http://127.0.0.1:8080/ap/inbox", account.activity("Create", note)
            )

        ready: list[tuple[bytes, dict[str, str]]] = []

        def inbox() -> None:
            # signed beforehand: the sender's signing is not the server's time
            body, headers = ready.pop() if ready else signed_create()
            assert call(app, "POST", "/ap/inbox", body, dict(headers)) == 202

        signed = [account.signed("http://127.0.0.1:8080/ap/inbox", {"type": "Create"})]
        body, headers = signed[0]
        lowered = {k.lower(): v for k, v in headers.items()}
        parsed = signatures.parse(lowered["signature"])
        request = signatures.SignedRequest("POST", "/ap/inbox", lowered, body)
        key = signatures.load_public_key(account.key.public_pem)
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)

        def verify() -> None:
            signatures.precheck(parsed, request, now, 3600)
            signatures.verify(parsed, request, key)

        comments = rate(args.seconds, comment)
        ready.extend(signed_create() for _ in range(int(comments * args.seconds * 3) + 100))
        replies = rate(args.seconds, inbox)
        assert ready, "every signed request was used: the figure includes signing"
        checks = rate(args.seconds / 2, verify)
    print(f"POST /api/comments (baseline)      {comments:8.0f} req/s")
    print(f"POST /ap/inbox (signed Create)     {replies:8.0f} req/s   {replies / comments:.2f}x")
    print(
        f"signature check alone              {checks:8.0f} /s      "
        f"{comments / checks:.2f} of a comment's time"
    )


if __name__ == "__main__":
    main()
