"""Checks for every value a reader sends. Each failure names its field and a stable code.

Codes: ``required``, ``invalid_type``, ``too_long``, ``invalid_value``, ``invalid_email``,
``invalid_url``. Plain-text fields (author, website, title, uri) are stored as sent, minus
surrounding white space; they are escaped by whoever displays them, never here.
"""

from __future__ import annotations

import re
from typing import Any

from commentd.errors import ValidationError
from commentd.services import i18n, normal

MAX_AUTHOR = 128
MAX_EMAIL = 254
MAX_WEBSITE = 512  # as stored
MAX_WEBSITE_SENT = MAX_WEBSITE - len("https://")  # as sent: a bare host gets https://
MAX_TITLE = 256
MAX_URI = 1024
#: Digits in an id or a stamp read from client text: every id fits SQLite's 64-bit integer.
MAX_ID_DIGITS = 18

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)*$")

# A website: what a browser opens as http(s) (docs/api.md). An optional scheme (a bare host
# gets https://); a host that is a dotted IPv4 address or a DNS name (labels of letters,
# digits and inner hyphens, non-ASCII letters allowed for IDNs; the last label starts with a
# letter, as every top-level domain does); a port from 1 to 65535; then any path, query or
# fragment without white space or controls. No user name, no IPv6 literal, nothing else
# (``data:text/html,...`` and port 99999 are refused). commentd/openapi.json carries the
# same expression as the schema's pattern; tests/web/test_contract.py holds them together.
_NAME_CHAR = (
    "A-Za-z0-9\\u00a1-\\u167f\\u1681-\\u1fff\\u2010-\\u2027\\u2030-\\u205e\\u2070-\\u2fff"
    "\\u3001-\\ud7ff\\uf900-\\ufefe\\uff00-\\uffef"
)
_LABEL = f"[{_NAME_CHAR}](?:[{_NAME_CHAR}-]{{0,61}}[{_NAME_CHAR}])?"
_LAST_LABEL = f"[{_NAME_CHAR.replace('0-9', '')}](?:[{_NAME_CHAR}-]{{0,61}}[{_NAME_CHAR}])?"
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_PORT = "(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
# Neither white space (as str.isspace() has it) nor a control character.
_VISIBLE = (
    "[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
)
_SCHEME = "[Hh][Tt][Tt][Pp][Ss]?://"
WEBSITE_PATTERN = (
    f"(?:{_SCHEME})?"
    f"(?:(?:{_OCTET}\\.){{3}}{_OCTET}|(?:{_LABEL}\\.)*{_LAST_LABEL})"
    f"(?::{_PORT})?"
    f"(?:[/?#]{_VISIBLE}*)?"
)
WEBSITE_RE = re.compile(WEBSITE_PATTERN)
_SCHEME_RE = re.compile(_SCHEME)


# Unicode categories Cc (C0 and C1 controls, DEL) and Cs (lone surrogates): one regex scan,
# not a category lookup per character (a comment's text is checked on every POST).
_CONTROLS_RE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROLS_BUT_NEWLINES_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


# Bidirectional formatting (embeddings, overrides, isolates, marks) and invisible characters:
# in a name or a uri they reorder or hide what readers see ("admin\u202enimda" shows as
# "adminadmin"). Joiners (ZWNJ, ZWJ) are kept where scripts and emoji need them, after a
# visible non-ASCII character; after ASCII or at the start they can only hide something.
_NON_ASCII_SPACES = "\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_FORMATTING_RE = re.compile(
    "[\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
    f"|(?<![^\x00-\x7f{_NON_ASCII_SPACES}])[\u200c\u200d]"
)


def _refuse_formatting(value: str | None, field: str) -> str | None:
    if value is not None and _FORMATTING_RE.search(value):
        raise ValidationError(
            f"{field} must not contain bidirectional or invisible formatting characters.",
            code="invalid_value",
            field=field,
        )
    return value


def _has_controls(value: str, allow_newlines: bool = False) -> bool:
    pattern = _CONTROLS_BUT_NEWLINES_RE if allow_newlines else _CONTROLS_RE
    return pattern.search(value) is not None


def string(value: Any, field: str, *, max_length: int, required: bool = False) -> str | None:
    """A single-line string, stripped; ``None`` when absent or blank and not required."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(f"{field} is required.", code="required", field=field)
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string.", code="invalid_type", field=field)
    value = value.strip()
    if len(value) > max_length:
        raise ValidationError(
            f"{field} must be at most {max_length} characters.", code="too_long", field=field
        )
    if _has_controls(value):
        raise ValidationError(
            f"{field} must not contain control characters.", code="invalid_value", field=field
        )
    return value


def text(value: Any, *, max_length: int) -> str:
    """A comment's Markdown source: required, bounded, newlines normalized."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError("text is required.", code="required", field="text")
    if not isinstance(value, str):
        raise ValidationError("text must be a string.", code="invalid_type", field="text")
    value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(value) > max_length:
        raise ValidationError(
            f"text must be at most {max_length} characters.", code="too_long", field="text"
        )
    if _has_controls(value, allow_newlines=True):
        raise ValidationError(
            "text must not contain control characters.", code="invalid_value", field="text"
        )
    return value


def author(value: Any, *, required: bool) -> str | None:
    cleaned = _refuse_formatting(
        string(value, "author", max_length=MAX_AUTHOR, required=required), "author"
    )
    return " ".join(cleaned.split()) if cleaned else cleaned


def email(value: Any, *, required: bool) -> str | None:
    cleaned = _refuse_formatting(
        string(value, "email", max_length=MAX_EMAIL, required=required), "email"
    )
    if cleaned is not None and not EMAIL_RE.match(cleaned):
        raise ValidationError("email is not an email address.", code="invalid_email", field="email")
    return normal.email(cleaned) if cleaned is not None else None


def website(value: Any) -> str | None:
    """An http(s) URL a browser can open (``WEBSITE_RE``); a bare host name gets ``https://``.

    At most ``MAX_WEBSITE_SENT`` characters as sent, so that with ``https://`` added it still
    fits the stored ``MAX_WEBSITE``.
    """
    cleaned = string(value, "website", max_length=MAX_WEBSITE_SENT)
    if cleaned is None:
        return None
    if WEBSITE_RE.fullmatch(cleaned) is None:
        raise ValidationError(
            "website must be an http or https URL with a valid host name and port.",
            code="invalid_url",
            field="website",
        )
    return cleaned if _SCHEME_RE.match(cleaned) else "https://" + cleaned


def title(value: Any) -> str | None:
    return string(value, "title", max_length=MAX_TITLE)


def uri(value: Any) -> str:
    """A thread key: usually the page's path."""
    cleaned = _refuse_formatting(string(value, "uri", max_length=MAX_URI, required=True), "uri")
    assert cleaned is not None
    return cleaned


READER_ID_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def reader_id(value: Any) -> str | None:
    """The random reader id the embed keeps in the browser (``voter``); None when absent."""
    if value is None:
        return None
    if not isinstance(value, str) or READER_ID_RE.fullmatch(value) is None:
        raise ValidationError(
            "voter must be 16 to 64 letters, digits, _ or -.", code="invalid_value", field="voter"
        )
    return value


MAX_LANGUAGE_TAG = 35


def language(value: Any) -> str | None:
    """The page's language (``lang``), as one of ours (``de-AT`` is ``de``, anything unknown
    English); None when absent."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_LANGUAGE_TAG:
        raise ValidationError(
            f"lang must be a language tag of at most {MAX_LANGUAGE_TAG} characters.",
            code="invalid_value",
            field="lang",
        )
    return i18n.language(value)


def boolean(value: Any, field: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValidationError(f"{field} must be true or false.", code="invalid_type", field=field)
    return value


def json_integer(value: Any) -> int | None:
    """``value`` as an int if JSON would call it an integer, else None.

    JSON (and JSON Schema's ``integer``) has one kind of number: ``1.0`` is the integer 1 and
    ``-0.0`` is 0. ``true`` is not a number, and ``1.5`` is not an integer.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def identifier(value: Any, field: str) -> int | None:
    """An optional positive integer id."""
    if value is None:
        return None
    number = json_integer(value)
    if number is None:
        raise ValidationError(f"{field} must be an integer id.", code="invalid_type", field=field)
    if not 0 < number < 2**63:
        raise ValidationError(f"{field} is not a valid id.", code="invalid_value", field=field)
    return number


def choice(value: Any, field: str, choices: tuple[str, ...], default: str) -> str:
    if value is None or value == "":
        return default
    if value not in choices:
        raise ValidationError(
            f"{field} must be one of {', '.join(choices)}.", code="invalid_value", field=field
        )
    return value


def whole_number(text: str, *, max_digits: int = MAX_ID_DIGITS) -> int | None:
    """The value of ``text`` if it is 1 to ``max_digits`` ASCII digits, else None.

    The one way to read a number out of client text (ids, expiry stamps, counts): bare
    ``str.isdigit()`` also accepts superscripts and other scripts' digits, on which ``int()``
    raises or reads a number the text does not spell in ASCII.
    """
    if 0 < len(text) <= max_digits and text.isascii() and text.isdigit():
        return int(text)
    return None


def bounded_int(value: Any, field: str, *, low: int, high: int, default: int) -> int:
    """An integer query parameter given as text."""
    if value is None or value == "":
        return default
    number = whole_number(value, max_digits=9) if isinstance(value, str) else None
    if number is not None and low <= number <= high:
        return number
    raise ValidationError(
        f"{field} must be a whole number from {low} to {high}.", code="invalid_value", field=field
    )
