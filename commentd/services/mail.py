"""Mail: building messages safely and sending them through the configured SMTP server.

Queued mail is stored as a small JSON payload (from, to, subject, text, extra headers and a
Message-ID fixed when it was queued, so a retried mail is recognizably the same mail) and
built into an ``EmailMessage`` only when it is sent. Every header value passes through
``clean`` (no CR, LF or other control characters) and addresses through ``Address``, and the
SMTP policy refuses any header that would still fold into a new one: a reader's name can
never add a header. Lines may be as long as RFC 5322 allows (998 characters), so a long
``List-Unsubscribe`` URL stays one plain ``<https://...>`` that mail programs can read, not
an RFC 2047 encoded word.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import secrets
import smtplib
import ssl
import unicodedata
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from commentd.config import MailConfig
from commentd.errors import CommentdError

KIND = "email"
MAX_HEADER_TEXT = 200
# Folding at 78 characters turns a long URL (one word) into an encoded word: only fold lines
# that would break the hard limit of 998.
POLICY = email.policy.SMTP.clone(max_line_length=998)


def clean(text: str | None, limit: int = MAX_HEADER_TEXT) -> str:
    """``text`` fit for a header: control and line-separator characters become spaces."""
    if not text:
        return ""
    kept = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text
    )
    return " ".join(kept.split())[:limit]


def address(addr_spec: str, display_name: str | None = None) -> Address:
    """A checked address; raises ``ValueError`` for anything that is not one address."""
    if any(unicodedata.category(ch) == "Cc" for ch in addr_spec) or "," in addr_spec:
        raise ValueError(f"not a single mail address: {addr_spec!r}")
    return Address(display_name=clean(display_name), addr_spec=addr_spec.strip())


def sender(config: MailConfig) -> Address:
    """The From address: ``[mail] sender``, which may be ``Name <addr>``."""
    name, addr = parseaddr(config.sender)
    return address(addr or config.sender, name or None)


def new_message_id(config: MailConfig) -> str:
    """A Message-ID in the sender's domain (no DNS lookup)."""
    domain = sender(config).domain or "localhost"
    return f"<{secrets.token_hex(12)}.commentd@{domain}>"  # short: never folded


def payload(
    config: MailConfig,
    to: str,
    subject: str,
    text: str,
    *,
    to_name: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What is queued for one mail: everything ``build`` needs, with its Message-ID."""
    return {
        "from": str(sender(config)),
        "to": to,
        "to_name": clean(to_name),
        "subject": clean(subject),
        "text": text,
        "headers": {name: clean(value, 2000) for name, value in (headers or {}).items()},
        "message_id": new_message_id(config),
        "date": format_datetime(dt.datetime.now(dt.timezone.utc), usegmt=True),
    }


def build(data: dict[str, Any]) -> EmailMessage:
    """The message for a queued payload."""
    message = EmailMessage(policy=POLICY)
    name, addr = parseaddr(data["from"])
    message["From"] = address(addr, name or None)
    message["To"] = address(data["to"], data.get("to_name"))
    message["Subject"] = clean(data.get("subject"))
    message["Message-ID"] = clean(data["message_id"])
    # When it was queued (mails queued before the date was kept: when it is sent).
    message["Date"] = clean(data.get("date")) or format_datetime(
        dt.datetime.now(dt.timezone.utc), usegmt=True
    )
    message["Auto-Submitted"] = "auto-generated"
    for header, value in (data.get("headers") or {}).items():
        message[clean(header, 76)] = clean(value, 2000)
    message.set_content(data.get("text", ""), cte="quoted-printable")
    return message


def probe_message(config: MailConfig, to: str) -> EmailMessage:
    """The mail ``commentd mail test`` sends."""
    return build(
        payload(
            config,
            to,
            "commentd test mail",
            "This is a test mail from commentd.\n\n"
            f"It was sent through {config.host}:{config.port} ({config.security}).\n"
            "If you can read this, commentd can send mail.\n",
        )
    )


def send(config: MailConfig, message: EmailMessage) -> None:
    """Deliver ``message`` through the configured server; raises on any failure."""
    if not config.enabled:
        raise CommentdError(
            "No mail server is configured ([mail] host).", code="mail_failed", status=502
        )
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if config.security == "tls":
        client = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=context)
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    try:
        with client:
            client.ehlo()
            if config.security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if config.username:
                client.login(config.username, config.password)
            client.send_message(message)
    except smtplib.SMTPResponseException as exc:
        answer = exc.smtp_error
        if isinstance(answer, bytes):
            answer = answer.decode("utf-8", "replace")
        raise smtplib.SMTPException(f"the server answered {exc.smtp_code} {answer}") from exc


def send_now(config: MailConfig, message: EmailMessage) -> None:
    """``send``, with any failure as a ``CommentdError`` (``502 mail_failed``) saying why."""
    try:
        send(config, message)
    except CommentdError:
        raise
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        raise CommentdError(
            f"Sending through {config.host}:{config.port} failed: {type(exc).__name__}: {exc}",
            code="mail_failed",
            status=502,
        ) from exc
