"""``commentd check``: is the configuration usable, the database reachable, SMTP answering?"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass

from commentd.config import Config
from commentd.storage.database import connection, open_database
from commentd.storage.migrations import current_version, pending_migrations


@dataclass(frozen=True)
class Check:
    """One check's outcome: ``ok`` None means skipped (not configured)."""

    name: str
    ok: bool | None
    detail: str


def database(config: Config) -> Check:
    """Open the database and read its schema version (nothing is migrated)."""
    try:
        db = open_database(config.database.url, config.database.cache_memory)
        with connection():
            version = current_version(db)
            pending = len(pending_migrations(db))
    except Exception as exc:
        return Check("database", False, f"{config.database.url.split('@')[-1]}: {exc}")
    detail = f"schema version {version}"
    if pending:
        detail += f", {pending} migration(s) pending (run `commentd migrate`)"
    return Check("database", True, detail)


def smtp(config: Config) -> Check:
    """Connect to the SMTP server, upgrade to TLS and log in as configured; send nothing."""
    mail = config.mail
    if not mail.enabled:
        return Check("smtp", None, "no [mail] host set: commentd sends no mail")
    where = f"{mail.host}:{mail.port}"
    try:
        if mail.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                mail.host, mail.port, timeout=mail.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(mail.host, mail.port, timeout=mail.timeout)
        with client:
            client.ehlo()
            if mail.security == "starttls":
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if mail.username:
                client.login(mail.username, mail.password)
            client.noop()
    except (OSError, smtplib.SMTPException) as exc:
        return Check("smtp", False, f"{where}: {exc}")
    return Check("smtp", True, f"{where} answered ({mail.security})")


def run_all(config: Config) -> list[Check]:
    """Every check, in order; the configuration itself was checked by loading it."""
    source = config.source or "defaults and environment"
    return [Check("config", True, f"loaded from {source}"), database(config), smtp(config)]
