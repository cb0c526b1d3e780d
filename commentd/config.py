"""commentd's configuration: one settings registry, and everything derived from it.

``SETTINGS`` lists every setting once (section, key, kind, default, help, constraints).
From it come parsing and validation (``load_config``), the frozen ``Config`` object, the
commented example file (``example_ini``) and the checks that keep ``docs/configuration.md``
complete.

Values come from, lowest precedence first: the defaults, an INI file, environment variables
named ``COMMENTD_<SECTION>_<KEY>`` and the ``overrides`` mapping (CLI flags).

Regenerate the example file at the repository root with::

    python -m commentd.config > commentd.ini.example
"""

from __future__ import annotations

import configparser
import datetime
import difflib
import ipaddress
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from commentd.errors import ConfigError

__all__ = [
    "ENV_PREFIX",
    "SECTIONS",
    "SETTINGS",
    "CommentsConfig",
    "Config",
    "DatabaseConfig",
    "Kind",
    "ModerationConfig",
    "RateLimitConfig",
    "SecurityConfig",
    "ServerConfig",
    "Setting",
    "default_config",
    "example_ini",
    "format_duration",
    "format_size",
    "load_config",
    "parse_duration",
    "parse_size",
]

ENV_PREFIX = "COMMENTD_"
CONFIG_ENV_VAR = "COMMENTD_CONFIG"


class _Invalid(ValueError):
    """A value a kind cannot accept; ``got`` is the offending (part of the) value."""

    def __init__(self, got: object) -> None:
        super().__init__(f"invalid value {got!r}")
        self.got = got


# --- value kinds -------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """A value type: ``parse`` reads text, ``coerce`` checks an already-typed value."""

    name: str
    parse: Callable[[str], Any]
    coerce: Callable[[Any], Any]
    describe: Callable[[Setting], str]


def _parse_str(text: str) -> str:
    return text


def _text_only(value: Any) -> Any:
    """``coerce`` for kinds whose only typed form is text (strings never reach it)."""
    raise _Invalid(value)


def _parse_int(text: str) -> int:
    if not re.fullmatch(r"-?[0-9]+", text):
        raise _Invalid(text)
    return int(text)


def _coerce_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(value)
    return value


_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def _parse_bool(text: str) -> bool:
    word = text.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise _Invalid(text)


def _coerce_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(value)
    return value


_DURATION_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION_PART = re.compile(r"([0-9]+)\s*([wdhms])", re.IGNORECASE)
_DURATION = re.compile(r"(?:[0-9]+\s*[wdhms]\s*)+", re.IGNORECASE)


def parse_duration(text: str) -> int:
    """``"90s"``, ``"15m"``, ``"2h"``, ``"30d"``, ``"1w"``, ``"1h30m"`` or ``"900"`` -> seconds.

    Raises ``ValueError`` for anything else (negatives, empty text, unknown units).
    """
    text = text.strip()
    if re.fullmatch(r"[0-9]+", text):
        return int(text)
    if not _DURATION.fullmatch(text):
        raise _Invalid(text)
    parts = [(int(count), unit.lower()) for count, unit in _DURATION_PART.findall(text)]
    if len({unit for _, unit in parts}) != len(parts):
        raise _Invalid(text)  # "1m1m": a unit given twice is a typo, not a sum
    return sum(count * _DURATION_UNITS[unit] for count, unit in parts)


def format_duration(seconds: int) -> str:
    """The shortest duration text for ``seconds``: 900 -> ``"15m"``, 5400 -> ``"1h30m"``."""
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in _DURATION_UNITS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _coerce_duration(value: Any) -> int:
    if isinstance(value, datetime.timedelta):
        if value % datetime.timedelta(seconds=1) or value < datetime.timedelta(0):
            raise _Invalid(value)
        return value // datetime.timedelta(seconds=1)
    seconds = _coerce_int(value)
    if seconds < 0:
        raise _Invalid(value)
    return seconds


_SIZE_UNITS = {
    "": 1,
    "b": 1,
    **dict.fromkeys(("k", "kb", "kib"), 1024),
    **dict.fromkeys(("m", "mb", "mib"), 1024**2),
    **dict.fromkeys(("g", "gb", "gib"), 1024**3),
}


def parse_size(text: str) -> int:
    """``"65536"``, ``"64KiB"``, ``"64KB"``, ``"64k"``, ``"1MiB"`` -> bytes (k, KB, KiB = 1024).

    Raises ``ValueError`` for anything else.
    """
    match = re.fullmatch(r"([0-9]+)\s*([a-z]*)", text.strip(), re.IGNORECASE)
    if not match or match.group(2).lower() not in _SIZE_UNITS:
        raise _Invalid(text)
    return int(match.group(1)) * _SIZE_UNITS[match.group(2).lower()]


def format_size(size: int) -> str:
    """The shortest exact size text: 65536 -> ``"64KiB"``, 1000 -> ``"1000"``."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def _coerce_size(value: Any) -> int:
    size = _coerce_int(value)
    if size < 0:
        raise _Invalid(value)
    return size


def _parse_list(text: str) -> tuple[str, ...]:
    return tuple(item for item in re.split(r"[\s,]+", text) if item)


def _coerce_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise _Invalid(value)
    items = tuple(value)
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise _Invalid(item)
    return tuple(item.strip() for item in items)


def _parse_phrases(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in re.split(r"[,\n]+", text) if item.strip())


def _network(text: str) -> str:
    try:
        return str(ipaddress.ip_network(text.strip(), strict=False))
    except ValueError:
        raise _Invalid(text) from None


def _parse_networks(text: str) -> tuple[str, ...]:
    return tuple(_network(item) for item in _parse_list(text))


def _coerce_networks(value: Any) -> tuple[str, ...]:
    return tuple(_network(item) for item in _coerce_list(value))


_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


def _valid_host(host: str, bracketed: bool) -> bool:
    """A DNS name or IPv4 address, or an IPv6 address when written in brackets."""
    if bracketed:
        try:
            return ipaddress.ip_address(host).version == 6
        except ValueError:
            return False
    return bool(_HOST.fullmatch(host))


def _origin(text: str) -> str:
    """Normalize one ``scheme://host[:port]`` origin; the default port is dropped."""
    try:
        parts = urlsplit(text.strip().lower())
        port = parts.port
    except ValueError:
        raise _Invalid(text) from None
    host = parts.hostname or ""
    if (
        parts.scheme not in ("http", "https")
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
        or "?" in text
        or "#" in text
        or not _valid_host(host, parts.netloc.startswith("["))
    ):
        raise _Invalid(text)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != {"http": 80, "https": 443}[parts.scheme]:
        netloc += f":{port}"
    return f"{parts.scheme}://{netloc}"


def _parse_origins(text: str) -> tuple[str, ...]:
    return tuple(_origin(item) for item in _parse_list(text))


def _coerce_origins(value: Any) -> tuple[str, ...]:
    return tuple(_origin(item) for item in _coerce_list(value))


def _parse_url(text: str) -> str:
    if not text:
        return text
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise _Invalid(text) from None
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or "?" in text
        or "#" in text
        or any(ch.isspace() for ch in text)
    ):
        raise _Invalid(text)
    return text


_DATABASE_PREFIXES = (
    "sqlite:///",
    "sqlite://:memory:",
    "postgresql://",
    "postgres://",
    "postgresql+pool://",
    "postgres+pool://",
)


def _parse_database_url(text: str) -> str:
    if text == "sqlite://:memory:":
        return text
    if text.startswith("sqlite:///") and len(text) > len("sqlite:///"):
        return text
    if text.startswith(_DATABASE_PREFIXES[2:]):
        return text
    raise _Invalid(text)


def _bounds(setting: Setting, fmt: Callable[[int], str]) -> str:
    low, high = setting.minimum, setting.maximum
    if low is not None and high is not None:
        return f" from {fmt(low)} to {fmt(high)}"
    if low is not None:
        return f" of at least {fmt(low)}"
    if high is not None:
        return f" of at most {fmt(high)}"
    return ""


def _describe_list(setting: Setting) -> str:
    if setting.choices:
        return "a list separated by commas or spaces of " + ", ".join(setting.choices)
    return "a list separated by commas or spaces"


def _describe_str(setting: Setting) -> str:
    if setting.choices:
        return "one of " + ", ".join(setting.choices)
    if not setting.min_length:
        return "text" if setting.allow_empty else "non-empty text"
    text = f"text of at least {setting.min_length} characters"
    return "empty or " + text if setting.allow_empty else text


STR = Kind("text", _parse_str, _text_only, _describe_str)
INT = Kind("integer", _parse_int, _coerce_int, lambda s: "an integer" + _bounds(s, str))
BOOL = Kind(
    "boolean", _parse_bool, _coerce_bool, lambda s: "true or false (or yes/no, on/off, 1/0)"
)
DURATION = Kind(
    "duration",
    parse_duration,
    _coerce_duration,
    lambda s: "a duration such as 90s, 15m, 2h, 30d or 1h30m" + _bounds(s, format_duration),
)
SIZE = Kind(
    "size",
    parse_size,
    _coerce_size,
    lambda s: "a size such as 65536, 64KiB or 1MiB" + _bounds(s, format_size),
)
LIST = Kind("list", _parse_list, _coerce_list, _describe_list)
PHRASES = Kind(
    "phrase list",
    _parse_phrases,
    _coerce_list,
    lambda s: "words or phrases separated by commas",
)
NETWORKS = Kind(
    "network list",
    _parse_networks,
    _coerce_networks,
    lambda s: "IP addresses or CIDR networks separated by commas or spaces, such as 10.0.0.0/8",
)
ORIGINS = Kind(
    "origin list",
    _parse_origins,
    _coerce_origins,
    lambda s: (
        "origins separated by commas or spaces, each scheme://host[:port] with scheme "
        "http or https and no path, such as https://blog.example.com"
    ),
)
URL = Kind(
    "URL",
    _parse_url,
    _text_only,
    lambda s: "empty or an http:// or https:// URL without query or fragment",
)
DATABASE_URL = Kind(
    "database URL",
    _parse_database_url,
    _text_only,
    lambda s: (
        "a database URL starting with "
        + ", ".join(_DATABASE_PREFIXES[:-1])
        + " or "
        + _DATABASE_PREFIXES[-1]
    ),
)


# --- the registry ------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One setting: where it lives, how it is read, its default (as INI text) and its help."""

    section: str
    key: str
    kind: Kind
    default: str
    help: str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    min_length: int = 0
    allow_empty: bool = True
    secret: bool = False

    @property
    def name(self) -> str:
        """``"section.key"``, the name used in ``overrides`` and ``ConfigError.field``."""
        return f"{self.section}.{self.key}"

    @property
    def env_var(self) -> str:
        """The environment variable that sets this setting."""
        return f"{ENV_PREFIX}{self.section}_{self.key}".upper()

    def expected(self) -> str:
        """What a valid value looks like, for error messages and docs."""
        return self.kind.describe(self)

    def parse(self, value: object, origin: str | None = None) -> Any:
        """Text (parsed) or an already-typed value (checked) -> the typed value.

        Raises ``ConfigError`` naming the setting, the bad value and what was expected;
        ``origin`` (e.g. ``"in /etc/commentd.ini"``) is appended to the message.
        """
        if isinstance(value, str):
            value = value.strip()
        convert = self.kind.parse if isinstance(value, str) else self.kind.coerce
        try:
            result = convert(value)
            self._check(result)
        except _Invalid as exc:
            got = exc.got if exc.got is not None else value
            raise ConfigError(self._message(got, origin), field=self.name) from None
        return result

    def _check(self, value: Any) -> None:
        if isinstance(value, int) and not isinstance(value, bool):
            if self.minimum is not None and value < self.minimum:
                raise _Invalid(None)
            if self.maximum is not None and value > self.maximum:
                raise _Invalid(None)
        if isinstance(value, tuple) and self.choices:
            for item in value:
                if item not in self.choices:
                    raise _Invalid(item)
            if not value and not self.allow_empty:
                raise _Invalid(None)
        if isinstance(value, str):
            if self.choices and value not in self.choices:
                raise _Invalid(None)
            if not value and not self.allow_empty:
                raise _Invalid(None)
            if value and len(value) < self.min_length:
                raise _Invalid(None)

    def _message(self, got: object, origin: str | None) -> str:
        if self.secret and isinstance(got, str):
            shown = f"a {len(got)}-character value"
        else:
            shown = repr(got)
        where = f" ({origin})" if origin else ""
        return f"[{self.section}] {self.key}: expected {self.expected()}, got {shown}{where}"


SECTIONS: dict[str, str] = {
    "site": "The blog commentd serves comments for.",
    "server": "The HTTP server.",
    "database": "Where comments are stored.",
    "comments": "Limits and rules for comments.",
    "moderation": "What waits for approval before readers see it.",
    "spam": "The local spam filter, which learns from moderators' decisions, and proof of "
    "work: when the embed must solve a challenge before a comment is taken.",
    "ratelimit": "How fast one client network may post, vote and report; answered with 429.",
    "cache": "HTTP caching of thread reads and counts.",
    "metrics": "The Prometheus endpoint /metrics and StatsD.",
    "security": "Secrets.",
    "mail": "Outgoing mail: moderation mails to the admin and reply notifications.",
    "webhooks": "HTTP callbacks for comment events.",
    "webmention": "Webmentions: replies, likes and mentions from other sites, and fetching "
    "their pages safely.",
    "fediverse": "ActivityPub: the blog as an account people follow from Mastodon and the rest "
    "of the Fediverse, and their replies as comments. Off until account is set.",
    "outbox": "The queue that delivers mail and webhooks, with retries.",
    "admin": "The web admin page at /admin.",
}

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "site",
        "url",
        URL,
        "",
        "Your blog's own address (https://blog.example.com): a thread's page is this plus the "
        "thread's uri, for permalinks, feeds and the redirect after a comment posted without "
        "JavaScript. Empty means commentd's own demo page.",
    ),
    Setting("server", "host", STR, "127.0.0.1", "Address to listen on.", allow_empty=False),
    Setting("server", "port", INT, "8080", "TCP port to listen on.", minimum=1, maximum=65535),
    Setting(
        "server", "threads", INT, "8", "Number of waitress worker threads.", minimum=1, maximum=256
    ),
    Setting(
        "server",
        "public_url",
        URL,
        "",
        "The URL readers reach commentd at, used in links and emails. "
        "Empty means http://{host}:{port}.",
    ),
    Setting(
        "server",
        "allowed_origins",
        ORIGINS,
        "",
        "Origins (your blog's) allowed to post comments from a browser. The server's own "
        "origin and the local demo are always allowed.",
    ),
    Setting(
        "server",
        "max_body_size",
        SIZE,
        "64KiB",
        "Request bodies larger than this are refused with 413 before they are read.",
        minimum=1024,
    ),
    Setting(
        "server",
        "trusted_proxies",
        NETWORKS,
        "",
        "Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For header names the "
        "real client. Requests from other peers are taken at their own address.",
    ),
    Setting(
        "server",
        "workers",
        INT,
        "1",
        "Processes commentd serve runs, sharing one listening socket; each has [server] "
        "threads threads. SIGHUP restarts them one by one without dropping requests.",
        minimum=1,
        maximum=64,
    ),
    Setting(
        "server",
        "access_log",
        STR,
        "text",
        "One line per request on stderr: text, json, or off. Never an email or a full "
        "client address.",
        choices=("text", "json", "off"),
        allow_empty=False,
    ),
    Setting(
        "database",
        "url",
        DATABASE_URL,
        "sqlite:///commentd.db",
        "sqlite:///path/to/file.db (a relative path is relative to the working directory) "
        "or postgresql://user:password@host/dbname.",
    ),
    Setting(
        "database",
        "cache_memory",
        SIZE,
        "8MiB",
        "Memory SQLite may keep in its page caches, all of a process's connections together "
        "(SQLite's soft heap limit); 0 for no limit. Not used with PostgreSQL.",
        minimum=0,
    ),
    Setting(
        "comments",
        "max_length",
        INT,
        "10000",
        "Maximum number of characters of a comment's Markdown text.",
        minimum=1,
        maximum=1_000_000,
    ),
    Setting(
        "comments",
        "max_depth",
        INT,
        "6",
        "Maximum nesting level shown. Top-level comments are level 1; deeper replies are "
        "shown at this level, under their ancestor one level up; 1 gives a flat thread.",
        minimum=1,
        maximum=50,
    ),
    Setting(
        "comments",
        "edit_window",
        DURATION,
        "15m",
        "How long an author can edit or delete their comment.",
    ),
    Setting(
        "comments", "require_author", BOOL, "false", "Whether a comment must give an author name."
    ),
    Setting(
        "comments", "require_email", BOOL, "false", "Whether a comment must give an email address."
    ),
    Setting(
        "comments",
        "page_size",
        INT,
        "50",
        "Top-level comments per page when the client does not ask for a number. "
        "At most max_page_size.",
        minimum=1,
        maximum=1000,
    ),
    Setting(
        "comments",
        "max_page_size",
        INT,
        "200",
        "The largest number of top-level comments per page a client may ask for.",
        minimum=1,
        maximum=1000,
    ),
    Setting(
        "comments",
        "max_links",
        INT,
        "10",
        "Most links one comment may contain (Markdown links and bare URLs); 0 for no limit.",
        minimum=0,
        maximum=10_000,
    ),
    Setting(
        "comments",
        "gravatar",
        BOOL,
        "false",
        "Show Gravatar images for commenters who gave an email. Off by default: it sends "
        "readers' browsers to gravatar.com and publishes a hash of each email address.",
    ),
    Setting(
        "moderation",
        "mode",
        LIST,
        "off",
        "Which new comments wait for approval; rules combine: off (publish at once), first "
        "(a commenter's first comment, until an email address has an approved one), links "
        "(comments containing links), all. Example: first, links.",
        choices=("off", "first", "links", "all"),
        allow_empty=False,
    ),
    Setting(
        "moderation",
        "lock_after",
        DURATION,
        "0s",
        "Close a thread to new comments, replies and votes this long after its first "
        "comment; 0s never closes threads by age.",
    ),
    Setting(
        "moderation",
        "blocked_words",
        PHRASES,
        "",
        "Words or phrases (matched as whole words, whatever their case, spacing or Unicode "
        "form: NFKC) that a comment's text, author or website may not contain.",
    ),
    Setting(
        "moderation",
        "blocked_emails",
        LIST,
        "",
        "Email addresses that may not comment; @example.com blocks a whole domain.",
    ),
    Setting(
        "moderation",
        "blocked_networks",
        NETWORKS,
        "",
        "Client addresses or CIDR networks that may not comment.",
    ),
    Setting(
        "moderation",
        "blocklist_action",
        STR,
        "reject",
        "What a blocklist match does: reject (refused with 403 blocked) or hold (kept "
        "pending for a moderator).",
        choices=("reject", "hold"),
        allow_empty=False,
    ),
    Setting(
        "moderation",
        "min_submit_time",
        DURATION,
        "3s",
        "A comment sent from the embed sooner than this after its form was shown is held for "
        "moderation (the embed itself waits this long before sending); 0s turns the check off.",
        maximum=3600,
    ),
    Setting(
        "moderation",
        "akismet_key",
        STR,
        "",
        "An Akismet API key. When set, new comments are checked with Akismet and spam is "
        "held as spam; empty (the default) makes no third-party call.",
        secret=True,
    ),
    Setting(
        "moderation",
        "akismet_url",
        URL,
        "https://rest.akismet.com",
        "The Akismet API address (for an Akismet-compatible service).",
    ),
    Setting(
        "moderation",
        "reports_to_hide",
        INT,
        "3",
        "Readers' reports that hide an approved comment until a moderator looks at it "
        "(it goes back to pending); 0 never hides a comment because of reports.",
        minimum=0,
        maximum=1000,
    ),
    Setting(
        "spam",
        "filter",
        BOOL,
        "true",
        "Score new comments with the local spam filter, which learns from every moderation "
        "decision (approve = not spam, spam = spam); it stays silent until it has seen "
        "filter_min_trained comments of each kind.",
    ),
    Setting(
        "spam",
        "filter_hold",
        INT,
        "50",
        "Hold a new comment for moderation when its filter score (0 to 100, higher is more "
        "likely spam) is at least this; 100 never holds because of the score.",
        minimum=1,
        maximum=100,
    ),
    Setting(
        "spam",
        "filter_spam",
        INT,
        "99",
        "Mark a new comment as spam when its filter score is at least this (at least "
        "filter_hold); 100 marks only comments the filter is certain of.",
        minimum=1,
        maximum=100,
    ),
    Setting(
        "spam",
        "filter_min_trained",
        INT,
        "20",
        "How many spam and how many approved comments the filter must have learned from "
        "before its score counts (train it at once with commentd spam train).",
        minimum=1,
        maximum=100000,
    ),
    Setting(
        "spam",
        "proof_of_work",
        STR,
        "suspicious",
        "When a new comment must carry a solved proof-of-work challenge (ALTCHA): off "
        "(never), suspicious (only when a signal says so: links, a burst from one network, a "
        "bot trap, a blocklist hold or a form sent too fast; a reader with an approved "
        "comment never), always (every comment from the JSON API).",
        choices=("off", "suspicious", "always"),
        allow_empty=False,
    ),
    Setting(
        "spam",
        "pow_max_number",
        INT,
        "500000",
        "The difficulty of a challenge with one signal (or none, in always mode): the "
        "largest number the browser may have to try; it tries half of it on average.",
        minimum=1000,
        maximum=10_000_000,
    ),
    Setting(
        "spam",
        "pow_factor",
        INT,
        "4",
        "Each further signal multiplies the difficulty by this (a new network counts as one "
        "when another signal asks for a challenge); 1 keeps every challenge at "
        "pow_max_number.",
        minimum=1,
        maximum=100,
    ),
    Setting(
        "spam",
        "pow_expiry",
        DURATION,
        "30m",
        "How long a challenge may be solved and sent; a later one is answered with a fresh "
        "challenge.",
        minimum=60,
        maximum=86400,
    ),
    Setting(
        "spam",
        "burst_comments",
        INT,
        "3",
        "Comments from one client network (IPv4 /24, IPv6 /48) within burst_window that make "
        "the next one a burst, a proof-of-work signal; 0 never counts bursts.",
        minimum=0,
        maximum=100_000,
    ),
    Setting(
        "spam",
        "burst_window",
        DURATION,
        "10m",
        "The time burst_comments are counted over.",
        minimum=1,
        maximum=86400,
    ),
    Setting(
        "mail",
        "host",
        STR,
        "",
        "SMTP server to send mail through; empty sends no mail.",
    ),
    Setting("mail", "port", INT, "587", "SMTP port.", minimum=1, maximum=65535),
    Setting(
        "mail",
        "security",
        STR,
        "starttls",
        "starttls (upgrade a plain connection), tls (TLS from the start, usually port 465) "
        "or none.",
        choices=("starttls", "tls", "none"),
        allow_empty=False,
    ),
    Setting("mail", "username", STR, "", "SMTP login name; empty sends without logging in."),
    Setting("mail", "password", STR, "", "SMTP password.", secret=True),
    Setting(
        "mail",
        "sender",
        STR,
        "commentd@localhost",
        "The From address of every mail commentd sends.",
        allow_empty=False,
    ),
    Setting(
        "mail",
        "admin",
        STR,
        "",
        "Where to send a mail with moderation links for each new comment; empty sends none.",
    ),
    Setting(
        "mail",
        "reply_notifications",
        BOOL,
        "true",
        'Mail commenters who ticked "notify me" when someone replies to them (once their '
        "address confirmed it by the link of the one mail it is sent first).",
    ),
    Setting(
        "mail",
        "thread_notifications",
        BOOL,
        "true",
        'Offer "notify me of every new comment in this thread", with the same confirmation.',
    ),
    Setting(
        "mail",
        "admin_digest",
        STR,
        "off",
        "off mails the admin for each new comment; hourly or daily sends one mail per hour or "
        "per day (UTC) listing the new and the held comments with their moderation links.",
        choices=("off", "hourly", "daily"),
        allow_empty=False,
    ),
    Setting(
        "mail",
        "link_expiry",
        DURATION,
        "7d",
        "How long the approve, delete and spam links in a moderation mail work.",
        minimum=60,
    ),
    Setting(
        "mail",
        "timeout",
        DURATION,
        "30s",
        "How long to wait for the SMTP server before the attempt counts as failed.",
        minimum=1,
        maximum=600,
    ),
    Setting(
        "webhooks",
        "urls",
        LIST,
        "",
        "URLs that receive a POST for each comment created, approved or deleted.",
    ),
    Setting(
        "webhooks",
        "format",
        STR,
        "json",
        "The body sent: json (commentd's event), slack, discord or matrix (their "
        "incoming-webhook message formats).",
        choices=("json", "slack", "discord", "matrix"),
        allow_empty=False,
    ),
    Setting(
        "webhooks",
        "secret",
        STR,
        "",
        "Key for the X-Commentd-Signature HMAC-SHA256 header; required when urls is set.",
        secret=True,
    ),
    Setting(
        "webhooks",
        "timeout",
        DURATION,
        "10s",
        "How long to wait for a webhook receiver before the attempt counts as failed.",
        minimum=1,
        maximum=600,
    ),
    Setting(
        "outbox",
        "max_attempts",
        INT,
        "10",
        "How many times a mail or webhook is tried before it is marked failed.",
        minimum=1,
        maximum=100,
    ),
    Setting(
        "outbox",
        "retry_delay",
        DURATION,
        "1m",
        "The wait after the first failed attempt; it doubles after each failure, up to 6 hours.",
        minimum=1,
    ),
    Setting(
        "webmention",
        "receive",
        STR,
        "auto",
        "Whether POST /webmention takes Webmentions from other sites: auto (yes once [site] "
        "url is set, since a target is a page of that site), on or off.",
        choices=("auto", "on", "off"),
        allow_empty=False,
    ),
    Setting(
        "webmention",
        "timeout",
        DURATION,
        "10s",
        "How long fetching a page of another site may take (a Webmention's source, a page to "
        "send Webmentions from, a Fediverse account or post, a delivery to its inbox), "
        "connection and whole answer included.",
        minimum=1,
        maximum=120,
    ),
    Setting(
        "webmention",
        "max_bytes",
        SIZE,
        "1MiB",
        "The most of a fetched page read; a longer page is refused.",
        minimum=1024,
        maximum=64 * 1024 * 1024,
    ),
    Setting(
        "webmention",
        "max_redirects",
        INT,
        "3",
        "Redirects followed when fetching a page; each new address is checked again.",
        minimum=0,
        maximum=10,
    ),
    Setting(
        "webmention",
        "allow_private_addresses",
        BOOL,
        "false",
        "For tests only: let fetches reach loopback, private and link-local addresses, which "
        "are otherwise refused so that a stranger's URL cannot reach the server's own network.",
    ),
    Setting(
        "fediverse",
        "account",
        STR,
        "",
        "The blog's account name on the Fediverse: blog makes it @blog@ followed by the host "
        "of [server] public_url. Empty turns ActivityPub off.",
    ),
    Setting(
        "fediverse",
        "display_name",
        STR,
        "",
        "The name followers see on the account. Empty means the account name.",
    ),
    Setting(
        "fediverse",
        "summary",
        STR,
        "",
        "A line about the blog, shown on the account's profile (plain text).",
    ),
    Setting(
        "fediverse",
        "icon_url",
        URL,
        "",
        "The account's avatar: the URL of a square PNG or JPEG image. Empty means none.",
    ),
    Setting(
        "fediverse",
        "publish_comments",
        BOOL,
        "false",
        "Also publish the blog's own approved comments as posts of the account, each a reply "
        "in the same tree, so that Fediverse readers see the whole discussion.",
    ),
    Setting(
        "fediverse",
        "feed_url",
        URL,
        "",
        "The blog's own Atom or RSS feed: each new entry is published to followers (as "
        "commentd fediverse publish does). Empty means posts are published by that command "
        "only.",
    ),
    Setting(
        "fediverse",
        "feed_interval",
        DURATION,
        "15m",
        "How often feed_url is read.",
        minimum=60,
    ),
    Setting(
        "fediverse",
        "signature_window",
        DURATION,
        "1h",
        "How far a signed request's Date may be from now, either way; an older request is "
        "refused as a replay.",
        minimum=30,
        maximum=86400,
    ),
    Setting(
        "admin",
        "session_lifetime",
        DURATION,
        "7d",
        "How long an admin stays signed in to /admin.",
        minimum=60,
    ),
    Setting(
        "admin",
        "login_attempts",
        INT,
        "5",
        "Failed admin logins allowed per client network per 15 minutes.",
        minimum=1,
        maximum=1000,
    ),
    Setting(
        "ratelimit",
        "comments_per_minute",
        INT,
        "5",
        "New comments one client network (IPv4 /24, IPv6 /48) may post per minute; 0 for no limit.",
        minimum=0,
        maximum=100_000,
    ),
    Setting(
        "ratelimit",
        "comments_per_hour",
        INT,
        "30",
        "New comments one client network may post per hour; 0 for no limit.",
        minimum=0,
        maximum=1_000_000,
    ),
    Setting(
        "ratelimit",
        "votes_per_minute",
        INT,
        "30",
        "Votes one client network may cast per minute; 0 for no limit.",
        minimum=0,
        maximum=100_000,
    ),
    Setting(
        "ratelimit",
        "votes_per_network",
        INT,
        "10",
        "Votes one comment may get from one client network (IPv4 /24, IPv6 /48); more new "
        "votes from there are refused with 403 vote_limit. 0 for no cap.",
        minimum=0,
        maximum=1_000_000,
    ),
    Setting(
        "ratelimit",
        "reports_per_hour",
        INT,
        "10",
        "Comment reports one client network may send per hour; 0 for no limit.",
        minimum=0,
        maximum=100_000,
    ),
    Setting(
        "ratelimit",
        "confirmations_per_network",
        INT,
        "10",
        "Confirmation mails for notifications that comments from one client network may cause "
        "per hour; more are not sent (the comments are kept). 0 for no limit.",
        minimum=0,
        maximum=100_000,
    ),
    Setting(
        "ratelimit",
        "confirmations_per_address",
        INT,
        "3",
        "Confirmation mails for notifications one email address may get per day. 0 for no limit.",
        minimum=0,
        maximum=1000,
    ),
    Setting(
        "cache",
        "max_age",
        DURATION,
        "0s",
        "How long browsers, proxies and CDNs may use a thread or counts response without "
        "asking again; 0s makes them revalidate every time (a cheap 304 by ETag).",
        maximum=86400,
    ),
    Setting(
        "cache",
        "stale_while_revalidate",
        DURATION,
        "0s",
        "How long a proxy or CDN may serve a stale response while it revalidates it in the "
        "background.",
        maximum=86400,
    ),
    Setting(
        "cache",
        "memory",
        SIZE,
        "8MiB",
        "Memory each process may use to keep rendered thread responses (keyed by the "
        "thread's version); 0 turns this cache off.",
        minimum=0,
    ),
    Setting(
        "metrics",
        "token",
        STR,
        "",
        "A token that lets GET /metrics in from anywhere (Authorization: Bearer <token>); "
        "empty allows only allowed_networks.",
        min_length=16,
        secret=True,
    ),
    Setting(
        "metrics",
        "allowed_networks",
        NETWORKS,
        "127.0.0.0/8, ::1",
        "Client networks that may read GET /metrics without a token.",
    ),
    Setting(
        "metrics",
        "statsd",
        STR,
        "",
        "host:port of a StatsD server to push counters and timings to over UDP; empty "
        "pushes nothing.",
    ),
    Setting(
        "metrics",
        "statsd_prefix",
        STR,
        "commentd",
        "The prefix of every StatsD metric name.",
        allow_empty=False,
    ),
    Setting(
        "security",
        "secret",
        STR,
        "",
        "Key that signs edit tokens and salts avatar hashes; at least 32 characters. "
        "Empty means commentd generates a random one on first start and keeps it in "
        "the database.",
        min_length=32,
        secret=True,
    ),
)

_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


# --- the result --------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteConfig:
    """``[site]``: the blog."""

    url: str


@dataclass(frozen=True)
class ServerConfig:
    """``[server]``."""

    host: str
    port: int
    threads: int
    public_url: str
    allowed_origins: tuple[str, ...]
    max_body_size: int
    trusted_proxies: tuple[str, ...]
    workers: int
    access_log: str

    @property
    def base_url(self) -> str:
        """The effective public URL without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@dataclass(frozen=True)
class DatabaseConfig:
    """``[database]``; ``cache_memory`` is in bytes."""

    url: str
    cache_memory: int


@dataclass(frozen=True)
class CommentsConfig:
    """``[comments]``; ``edit_window`` is in seconds."""

    max_length: int
    max_depth: int
    edit_window: int
    require_author: bool
    require_email: bool
    page_size: int
    max_page_size: int
    max_links: int
    gravatar: bool


@dataclass(frozen=True)
class ModerationConfig:
    """``[moderation]``; durations are in seconds."""

    mode: tuple[str, ...]
    lock_after: int
    blocked_words: tuple[str, ...]
    blocked_emails: tuple[str, ...]
    blocked_networks: tuple[str, ...]
    blocklist_action: str
    min_submit_time: int
    akismet_key: str
    akismet_url: str
    reports_to_hide: int


@dataclass(frozen=True)
class SpamConfig:
    """``[spam]``; the filter's thresholds are scores from 0 to 100, durations are in
    seconds."""

    filter: bool
    filter_hold: int
    filter_spam: int
    filter_min_trained: int
    proof_of_work: str
    pow_max_number: int
    pow_factor: int
    pow_expiry: int
    burst_comments: int
    burst_window: int


@dataclass(frozen=True)
class MailConfig:
    """``[mail]``; ``host`` empty means no mail is sent."""

    host: str
    port: int
    security: str
    username: str
    password: str
    sender: str
    admin: str
    reply_notifications: bool
    thread_notifications: bool
    admin_digest: str
    link_expiry: int
    timeout: int

    @property
    def enabled(self) -> bool:
        return bool(self.host)


@dataclass(frozen=True)
class WebhooksConfig:
    """``[webhooks]``."""

    urls: tuple[str, ...]
    format: str
    secret: str
    timeout: int


@dataclass(frozen=True)
class WebmentionConfig:
    """``[webmention]``: receiving Webmentions, and the bounds of every page fetch."""

    receive: str
    timeout: int
    max_bytes: int
    max_redirects: int
    allow_private_addresses: bool


@dataclass(frozen=True)
class FediverseConfig:
    """``[fediverse]``: the blog's ActivityPub account; durations in seconds."""

    account: str
    display_name: str
    summary: str
    icon_url: str
    publish_comments: bool
    feed_url: str
    feed_interval: int
    signature_window: int


@dataclass(frozen=True)
class OutboxConfig:
    """``[outbox]``: retries of mail and webhooks."""

    max_attempts: int
    retry_delay: int


@dataclass(frozen=True)
class AdminConfig:
    """``[admin]``: the web admin page."""

    session_lifetime: int
    login_attempts: int


@dataclass(frozen=True)
class RateLimitConfig:
    """``[ratelimit]``: allowances per client network; 0 turns one off."""

    comments_per_minute: int
    comments_per_hour: int
    votes_per_minute: int
    votes_per_network: int
    reports_per_hour: int
    confirmations_per_network: int
    confirmations_per_address: int


@dataclass(frozen=True)
class CacheConfig:
    """``[cache]``: HTTP caching of reads; durations in seconds, memory in bytes."""

    max_age: int
    stale_while_revalidate: int
    memory: int


@dataclass(frozen=True)
class MetricsConfig:
    """``[metrics]``: who may read /metrics, and where to push StatsD."""

    token: str
    allowed_networks: tuple[str, ...]
    statsd: str
    statsd_prefix: str


@dataclass(frozen=True)
class SecurityConfig:
    """``[security]``."""

    secret: str


@dataclass(frozen=True)
class Config:
    """The whole, validated, immutable configuration."""

    site: SiteConfig
    server: ServerConfig
    database: DatabaseConfig
    comments: CommentsConfig
    moderation: ModerationConfig
    spam: SpamConfig
    ratelimit: RateLimitConfig
    cache: CacheConfig
    metrics: MetricsConfig
    security: SecurityConfig
    mail: MailConfig
    webhooks: WebhooksConfig
    webmention: WebmentionConfig
    fediverse: FediverseConfig
    outbox: OutboxConfig
    admin: AdminConfig
    source: str | None = None

    @property
    def receives_webmentions(self) -> bool:
        """Whether POST /webmention takes Webmentions (``[webmention] receive``)."""
        receive = self.webmention.receive
        return receive == "on" or (receive == "auto" and bool(self.site.url))

    @property
    def federates(self) -> bool:
        """Whether the blog is an ActivityPub account (``[fediverse] account`` is set)."""
        return bool(self.fediverse.account)

    @property
    def public_url(self) -> str:
        """The URL readers reach commentd at, without a trailing slash."""
        return self.server.base_url


_SECTION_TYPES: dict[str, type] = {
    "site": SiteConfig,
    "server": ServerConfig,
    "database": DatabaseConfig,
    "comments": CommentsConfig,
    "moderation": ModerationConfig,
    "spam": SpamConfig,
    "ratelimit": RateLimitConfig,
    "cache": CacheConfig,
    "metrics": MetricsConfig,
    "security": SecurityConfig,
    "mail": MailConfig,
    "webhooks": WebhooksConfig,
    "webmention": WebmentionConfig,
    "fediverse": FediverseConfig,
    "outbox": OutboxConfig,
    "admin": AdminConfig,
}


# --- loading -----------------------------------------------------------------------------


def _suggest(word: str, known: Iterable[str], render: Callable[[str], str]) -> str:
    match = difflib.get_close_matches(word.lower(), list(known), n=1)
    return f" (did you mean {render(match[0])}?)" if match else ""


def _keys(section: str) -> list[str]:
    return [s.key for s in SETTINGS if s.section == section]


def _unknown_key(section: str, key: str, origin: str, env: bool = False) -> ConfigError:
    if env:
        hint = _suggest(key, _keys(section), lambda k: _BY_NAME[f"{section}.{k}"].env_var)
    else:
        hint = _suggest(key, _keys(section), lambda k: f"[{section}] {k}")
    return ConfigError(
        f"unknown setting [{section}] {key} {origin}{hint}", field=f"{section}.{key}"
    )


def _read_file(path: str) -> dict[str, dict[str, str]]:
    """The file's sections and keys as text; raises ConfigError naming the path."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8-sig") as handle:
            parser.read_file(handle, source=path)
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc}") from None
    except configparser.Error as exc:
        raise ConfigError(f"cannot parse configuration file {path}: {exc}") from None
    if parser.defaults():
        raise ConfigError(f"unknown section [{parser.default_section}] in {path}")
    return {name: dict(parser.items(name)) for name in parser.sections()}


def _from_file(path: str) -> dict[str, Any]:
    values = {}
    for section, items in _read_file(path).items():
        if section not in SECTIONS:
            hint = _suggest(section, SECTIONS, lambda s: f"[{s}]")
            raise ConfigError(f"unknown section [{section}] in {path}{hint}")
        for key, text in items.items():
            setting = _BY_NAME.get(f"{section}.{key}")
            if setting is None:
                raise _unknown_key(section, key, f"in {path}")
            values[setting.name] = setting.parse(text, f"in {path}")
    return values


def _from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    values = {}
    for name, text in sorted(environ.items()):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX):
            continue
        rest = upper[len(ENV_PREFIX) :]
        section = next((s for s in SECTIONS if rest.startswith(s.upper() + "_")), None)
        if section is None:
            continue
        key = rest[len(section) + 1 :].lower()
        setting = _BY_NAME.get(f"{section}.{key}")
        if setting is None:
            raise _unknown_key(section, key, f"from environment variable {name}", env=True)
        values[setting.name] = setting.parse(text, f"from environment variable {name}")
    return values


def _from_overrides(overrides: Mapping[str, object]) -> dict[str, Any]:
    values = {}
    for name, value in overrides.items():
        if value is None:
            continue
        setting = _BY_NAME.get(name)
        if setting is None:
            hint = _suggest(name, _BY_NAME, str)
            raise ConfigError(f"unknown setting {name} in overrides{hint}", field=name)
        values[name] = setting.parse(value, "from overrides")
    return values


def _check_page_sizes(config: Config) -> None:
    comments = config.comments
    if comments.page_size > comments.max_page_size:
        raise ConfigError(
            f"[comments] page_size ({comments.page_size}) must not be greater than "
            f"[comments] max_page_size ({comments.max_page_size})",
            field="comments.page_size",
        )


def _check_moderation_mode(config: Config) -> None:
    mode = config.moderation.mode
    if "off" in mode and len(mode) > 1:
        raise ConfigError(
            f"[moderation] mode: off cannot be combined with other rules, got {', '.join(mode)}",
            field="moderation.mode",
        )


def _check_filter_thresholds(config: Config) -> None:
    spam = config.spam
    if spam.filter_spam < spam.filter_hold:
        raise ConfigError(
            f"[spam] filter_spam ({spam.filter_spam}) must be at least filter_hold "
            f"({spam.filter_hold})",
            field="spam.filter_spam",
        )


def _check_webmention(config: Config) -> None:
    if config.webmention.receive == "on" and not config.site.url:
        raise ConfigError(
            "[webmention] receive: on needs [site] url (a Webmention's target is a page of it)",
            field="webmention.receive",
        )


_ACCOUNT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


def _check_fediverse(config: Config) -> None:
    account = config.fediverse.account
    if account and not _ACCOUNT.fullmatch(account):
        raise ConfigError(
            f"[fediverse] account: expected a name of letters, digits, _ . and - (at most 64), "
            f"got {account!r}",
            field="fediverse.account",
        )
    if config.fediverse.feed_url and not account:
        raise ConfigError(
            "[fediverse] feed_url needs [fediverse] account (entries are published by it)",
            field="fediverse.feed_url",
        )


def _check_webhooks(config: Config) -> None:
    for url in config.webhooks.urls:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                f"[webhooks] urls: expected http:// or https:// URLs, got {url!r}",
                field="webhooks.urls",
            )
    if config.webhooks.urls and len(config.webhooks.secret) < 16:
        raise ConfigError(
            "[webhooks] secret: a secret of at least 16 characters is required when urls is set",
            field="webhooks.secret",
        )


_CHECKS: tuple[Callable[[Config], None], ...] = (
    _check_page_sizes,
    _check_moderation_mode,
    _check_filter_thresholds,
    _check_webhooks,
    _check_webmention,
    _check_fediverse,
)


def _defaults() -> dict[str, Any]:
    return {s.name: s.parse(s.default, "default") for s in SETTINGS}


def _build(values: Mapping[str, Any], source: str | None) -> Config:
    """The frozen ``Config`` from typed values by ``"section.key"``, after cross-field checks."""
    sections = {
        name: cls(**{s.key: values[s.name] for s in SETTINGS if s.section == name})
        for name, cls in _SECTION_TYPES.items()
    }
    config = Config(**sections, source=source)
    for check in _CHECKS:
        check(config)
    return config


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
) -> Config:
    """Read, validate and freeze the configuration.

    ``path=None`` uses ``$COMMENTD_CONFIG`` when set, else no file. ``environ`` defaults to
    ``os.environ``. ``overrides`` maps ``"section.key"`` to text or typed values; ``None``
    values are skipped. Raises ``ConfigError`` naming the offending file, key or value.
    """
    if environ is None:
        environ = os.environ
    if path is None:
        path = environ.get(CONFIG_ENV_VAR) or None
    source = os.fspath(path) if path is not None else None

    values = _defaults()
    if source is not None:
        values.update(_from_file(source))
    values.update(_from_environ(environ))
    values.update(_from_overrides(overrides or {}))
    return _build(values, source)


def default_config() -> Config:
    """The configuration with every setting at its default (no file, no environment)."""
    return load_config(None, environ={})


# --- the example file --------------------------------------------------------------------

_HEADER = """\
# commentd configuration file.
#
# Every setting is listed below with its help text and its default value. Lines starting
# with "#" are comments: a commented-out "# key = value" line shows the default. To change a
# setting, write it without the "#". Comments must be on lines of their own.
#
# Any setting can also be set with an environment variable COMMENTD_<SECTION>_<KEY>,
# e.g. COMMENTD_SERVER_PORT=9000, which wins over this file.
# Full reference: docs/configuration.md
"""


def _comment(text: str, width: int = 88) -> list[str]:
    lines, line = [], "#"
    for word in text.split():
        if len(line) + 1 + len(word) > width and line != "#":
            lines.append(line)
            line = "#"
        line += " " + word
    lines.append(line)
    return lines


def _assignment(key: str, value: str) -> str:
    return f"{key} = {value}" if value else f"{key} ="


def example_ini(values: Mapping[str, str] | None = None) -> str:
    """The full, commented INI file; keys in ``values`` (``"section.key"``) are set.

    Every value given is validated first, so the result always loads with ``load_config``.
    """
    values = dict(values or {})
    typed = _defaults()
    for name, value in values.items():
        setting = _BY_NAME.get(name)
        if setting is None:
            hint = _suggest(name, _BY_NAME, str)
            raise ConfigError(f"unknown setting {name}{hint}", field=name)
        if not isinstance(value, str) or "\n" in value or "\r" in value:
            raise ConfigError(f"{name}: expected a single line of text, got {value!r}", field=name)
        typed[name] = setting.parse(value)
    _build(typed, None)  # the cross-field checks, so the file written always loads

    out = [_HEADER]
    for section, section_help in SECTIONS.items():
        out.append(f"[{section}]")
        out.append("# " + section_help)
        out.append("")
        for setting in (s for s in SETTINGS if s.section == section):
            out.extend(_comment(setting.help))
            out.extend(_comment(f"Value: {setting.expected()}."))
            out.append(f"# Environment: {setting.env_var}")
            out.append("# " + _assignment(setting.key, setting.default))
            if setting.name in values:
                out.append(_assignment(setting.key, values[setting.name].strip()))
            out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(example_ini())
