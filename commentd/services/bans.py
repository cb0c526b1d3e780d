"""Bans kept in the database: emails (or ``@domain``), client networks, words and domains.

They add to the config's blocklists (``[moderation] blocked_*``) and act the same way, per
``blocklist_action``; unlike the config, they change without a restart and across processes.
A ``domain`` ban is for Webmentions: a source on that host or any of its subdomains is
rejected when it is verified (``webmention_verify.py``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from peewee import IntegrityError

from commentd.errors import Conflict, NotFound, ValidationError
from commentd.services import audit, normal
from commentd.services.audit import Actor
from commentd.services.clients import IPV4_PREFIX, IPV6_PREFIX
from commentd.storage.database import write_transaction
from commentd.storage.models import Ban, Comment, utcnow

KINDS = ("email", "ip", "word", "domain")
# What a moderator can ban from a comment, and the kind of ban each one becomes.
COMMENTER_KINDS = {"email": "email", "network": "ip"}
MAX_REASON = 256
MAX_VALUE = 256  # as typed, and as stored once normalized (the column's size)

# What a ban's value may be, as regular expressions that commentd/openapi.json carries as the
# admin form's patterns (tests/web/test_contract.py holds them together). White space is
# str.isspace()'s; around a value it is ignored.
_SPACE = (
    "\\t\\n\\u000b\\u000c\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a"
    "\\u2028\\u2029\\u202f\\u205f\\u3000"
)
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = f"(?:{_OCTET}\\.){{3}}{_OCTET}"
_H = "[0-9A-Fa-f]{1,4}"
_IPV6 = (
    "(?:"
    + "|".join(
        [
            f"(?:{_H}:){{7}}{_H}",
            f"(?:{_H}:){{1,7}}:",
            f"(?:{_H}:){{1,6}}:{_H}",
            f"(?:{_H}:){{1,5}}(?::{_H}){{1,2}}",
            f"(?:{_H}:){{1,4}}(?::{_H}){{1,3}}",
            f"(?:{_H}:){{1,3}}(?::{_H}){{1,4}}",
            f"(?:{_H}:){{1,2}}(?::{_H}){{1,5}}",
            f"{_H}:(?::{_H}){{1,6}}",
            f":(?:(?::{_H}){{1,7}}|:)",
            f"(?:{_H}:){{6}}{_IPV4}",
            f"::(?:{_H}:){{0,5}}{_IPV4}",
            # k hextets before "::", at most 5 - k after it, then the IPv4 part (two hextets)
            *(f"(?:{_H}:){{{k - 1}}}{_H}::(?:{_H}:){{0,{5 - k}}}{_IPV4}" for k in range(1, 6)),
        ]
    )
    + ")"
)
ADDRESS_PATTERN = f"^[{_SPACE}]*(?:{_IPV4}|{_IPV6})[{_SPACE}]*$"
NETWORK_PATTERN = (
    f"^[{_SPACE}]*(?:{_IPV4}(?:/(?:3[0-2]|[12]?[0-9]))?"
    f"|{_IPV6}(?:/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9]))?)[{_SPACE}]*$"
)
EMAIL_PATTERN = f"^[{_SPACE}]*[^{_SPACE}]*@[^{_SPACE}]*[{_SPACE}]*$"
WORD_PATTERN = f"^[{_SPACE}]*[^{_SPACE}][\\s\\S]*$"
# A host name (or address), optionally written with its http(s):// and a final slash.
_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_SCHEME = "[Hh][Tt][Tt][Pp][Ss]?://"
DOMAIN_PATTERN = f"^[{_SPACE}]*(?:{_SCHEME})?(?:{_LABEL}\\.)*{_LABEL}/?[{_SPACE}]*$"
PATTERNS = {
    "email": EMAIL_PATTERN,
    "ip": NETWORK_PATTERN,
    "word": WORD_PATTERN,
    "domain": DOMAIN_PATTERN,
}
_ADDRESS_RE = re.compile(ADDRESS_PATTERN[1:-1])
_PATTERN_RES = {kind: re.compile(pattern[1:-1]) for kind, pattern in PATTERNS.items()}
_SCHEME_RE = re.compile(_SCHEME)


@dataclass(frozen=True)
class BanLists:
    """Every ban, grouped by kind."""

    emails: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()


_REFUSED = {
    "email": "{value!r} is not an email address or @domain.",
    "ip": "{value!r} is not an IP address or CIDR network.",
    "word": "Give a value of 1 to 256 characters.",
    "domain": "{value!r} is not a domain such as example.org.",
}


def normalize(kind: str, value: str) -> str:
    """The stored form of a ban's value (``PATTERNS`` say what each kind takes): an email or
    @domain in its normal form, a network in CIDR, a word or phrase in its normal form, a
    domain as its lower-case host (no scheme, no slash); raises ``ValidationError`` for a bad
    one."""
    value = value if isinstance(value, str) else ""
    if kind not in KINDS:
        raise ValidationError(f"kind must be one of {', '.join(KINDS)}.", code="invalid_value")
    if len(value) > MAX_VALUE:
        raise ValidationError("Give a value of 1 to 256 characters.", code="too_long")
    if not _PATTERN_RES[kind].fullmatch(value):
        message = _REFUSED[kind].format(value=value.strip())
        raise ValidationError(message, code="invalid_value", field="value")
    if kind == "ip":
        return str(ipaddress.ip_network(value.strip(), strict=False))
    if kind == "domain":
        return _SCHEME_RE.sub("", value.strip(), count=1).rstrip("/").lower()
    stored = normal.email(value) if kind == "email" else normal.text(value)
    if len(stored) > MAX_VALUE:
        raise ValidationError(
            "The value is longer than 256 characters in its normal form.", code="too_long"
        )
    return stored


def address(value: str, field: str = "network") -> str:
    """An IP address a moderator typed (``ADDRESS_PATTERN``), in its canonical form."""
    if not isinstance(value, str) or not _ADDRESS_RE.fullmatch(value):
        raise ValidationError(
            f"{field} must be an IP address, such as 203.0.113.7.",
            code="invalid_value",
            field=field,
        )
    return str(ipaddress.ip_address(value.strip()))


def _reason(reason: str | None) -> str | None:
    """A ban's note: at most ``MAX_REASON`` characters, kept as one line, or None."""
    if len(reason or "") > MAX_REASON:
        raise ValidationError(
            f"Give a reason of at most {MAX_REASON} characters.", code="too_long", field="reason"
        )
    return " ".join((reason or "").split()) or None


def network_of(stored: str | None) -> str | None:
    """The CIDR network of a comment's stored network address (IPv4 /24, IPv6 /48): what a
    ban of "this network" covers, no more than the comment keeps; None for no address."""
    try:
        address = ipaddress.ip_address((stored or "").strip())
    except ValueError:
        return None
    prefix = IPV4_PREFIX if address.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def add(
    kind: str,
    value: str,
    actor: Actor,
    reason: str | None = None,
    comment_id: int | None = None,
) -> Ban:
    """Ban ``value``; banning it twice is a conflict. ``comment_id`` names the comment the
    ban was taken from, for the audit log."""
    value = normalize(kind, value)
    reason = _reason(reason)
    detail: dict[str, object] = {"kind": kind, "value": value}
    if comment_id is not None:
        detail["comment"] = comment_id
    try:
        with write_transaction():
            ban = Ban.create(kind=kind, value=value, created=utcnow(), reason=reason)
            audit.record(actor, "ban", "ban", ban.id, detail)
    except IntegrityError:
        raise Conflict(f"{kind} {value} is already banned.", code="already_banned") from None
    return ban


def ban_commenter(comment_id: int, what: str, actor: Actor, reason: str | None = None) -> Ban:
    """Ban the email or the network (``what``) of comment ``comment_id``."""
    if what not in COMMENTER_KINDS:
        raise ValidationError("Ban the comment's email or network.", code="invalid_value")
    comment = Comment.get_or_none(Comment.id == comment_id)
    if comment is None:
        raise NotFound(f"No comment {comment_id}.", code="comment_not_found")
    value = comment.email if what == "email" else network_of(comment.remote_addr)
    if not value:
        raise Conflict(f"Comment {comment_id} has no {what} to ban.", code="nothing_to_ban")
    return add(COMMENTER_KINDS[what], value, actor, reason, comment_id=comment_id)


def _lift(ban: Ban, actor: Actor) -> None:
    audit.record(actor, "unban", "ban", ban.id, {"kind": ban.kind, "value": ban.value})
    ban.delete_instance()


def remove(kind: str, value: str, actor: Actor) -> None:
    """Lift a ban."""
    value = normalize(kind, value)
    with write_transaction():
        ban = Ban.get_or_none((Ban.kind == kind) & (Ban.value == value))
        if ban is None:
            raise NotFound(f"{kind} {value} is not banned.", code="ban_not_found")
        _lift(ban, actor)


def remove_id(ban_id: int, actor: Actor) -> Ban:
    """Lift the ban with id ``ban_id`` (the admin page's remove button)."""
    with write_transaction():
        ban = Ban.get_or_none(Ban.id == ban_id)
        if ban is None:
            raise NotFound(f"No ban {ban_id}.", code="ban_not_found")
        _lift(ban, actor)
    return ban


def all_bans(limit: int | None = None, offset: int = 0) -> list[Ban]:
    """Every ban (or one page of them), by kind then value."""
    query = Ban.select().order_by(Ban.kind, Ban.value, Ban.id)
    if limit is not None:
        query = query.limit(max(1, min(int(limit), 500))).offset(max(0, int(offset)))
    return list(query)


def count() -> int:
    """How many bans there are."""
    return Ban.select().count()


class Coverage:
    """What the bans cover, for showing it beside many comments: each ban parsed once."""

    def __init__(self, lists: BanLists):
        self.addresses = frozenset(ban for ban in lists.emails if not ban.startswith("@"))
        self.domains = tuple(ban for ban in lists.emails if ban.startswith("@"))
        self.networks = tuple(ipaddress.ip_network(ban) for ban in lists.networks)

    def email(self, email: str | None) -> bool:
        """Whether a ban covers ``email``: itself or its @domain."""
        if not email:
            return False
        email = normal.email(email)
        return email in self.addresses or email.endswith(self.domains)

    def network(self, stored: str | None) -> bool:
        """Whether a ban covers the whole of a comment's stored network."""
        cidr = network_of(stored)
        if cidr is None:
            return False
        mine = ipaddress.ip_network(cidr)
        return any(
            banned.version == mine.version and mine.subnet_of(banned)  # type: ignore[arg-type]
            for banned in self.networks
        )


def lists() -> BanLists:
    """The bans as the screening step uses them (one small query)."""
    grouped: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for kind, value in Ban.select(Ban.kind, Ban.value).tuples():
        grouped.setdefault(kind, []).append(value)
    return BanLists(
        tuple(grouped["email"]),
        tuple(grouped["ip"]),
        tuple(grouped["word"]),
        tuple(grouped["domain"]),
    )


def domain_banned(host: str | None, domains: tuple[str, ...]) -> str | None:
    """The banned domain that ``host`` is, or is a subdomain of; None when none is."""
    host = (host or "").lower().rstrip(".")
    for domain in domains:
        if host == domain or host.endswith("." + domain):
            return domain
    return None
