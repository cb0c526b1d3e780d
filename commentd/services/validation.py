"""Checks for every value a reader sends. Each failure names its field and a stable code.

Codes: ``required``, ``invalid_type``, ``too_long``, ``invalid_value``, ``invalid_email``,
``invalid_url``. Plain-text fields (author, website, title, uri) are stored as sent, minus
surrounding white space; they are escaped by whoever displays them, never here.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from commentd.errors import ValidationError

MAX_AUTHOR = 128
MAX_EMAIL = 254
MAX_WEBSITE = 512
MAX_TITLE = 256
MAX_URI = 1024
#: Digits in an id or a stamp read from client text: every id fits SQLite's 64-bit integer.
MAX_ID_DIGITS = 18

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)*$")
HOST_RE = re.compile(r"^[A-Za-z0-9.\-\[\]:_~%]+$")


# Unicode categories Cc (C0 and C1 controls, DEL) and Cs (lone surrogates): one regex scan,
# not a category lookup per character (a comment's text is checked on every POST).
_CONTROLS_RE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROLS_BUT_NEWLINES_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


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
    cleaned = string(value, "author", max_length=MAX_AUTHOR, required=required)
    return " ".join(cleaned.split()) if cleaned else cleaned


def email(value: Any, *, required: bool) -> str | None:
    cleaned = string(value, "email", max_length=MAX_EMAIL, required=required)
    if cleaned is not None and not EMAIL_RE.match(cleaned):
        raise ValidationError("email is not an email address.", code="invalid_email", field="email")
    return cleaned


def website(value: Any) -> str | None:
    """An http(s) URL; a bare host name gets ``https://``."""
    cleaned = string(value, "website", max_length=MAX_WEBSITE)
    if cleaned is None:
        return None
    if "://" not in cleaned and HOST_RE.match(cleaned.split("/", 1)[0]):
        cleaned = "https://" + cleaned
    try:
        parts = urlsplit(cleaned)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if (
        parts is None
        or parts.scheme.lower() not in ("http", "https")
        or not host
        or not HOST_RE.match(host)
        or any(char.isspace() for char in cleaned)
        or parts.username is not None
    ):
        raise ValidationError(
            "website must be an http or https URL.", code="invalid_url", field="website"
        )
    if len(cleaned) > MAX_WEBSITE:
        raise ValidationError(
            f"website must be at most {MAX_WEBSITE} characters.", code="too_long", field="website"
        )
    return cleaned


def title(value: Any) -> str | None:
    return string(value, "title", max_length=MAX_TITLE)


def uri(value: Any) -> str:
    """A thread key: usually the page's path."""
    cleaned = string(value, "uri", max_length=MAX_URI, required=True)
    assert cleaned is not None
    return cleaned


def boolean(value: Any, field: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValidationError(f"{field} must be true or false.", code="invalid_type", field=field)
    return value


def identifier(value: Any, field: str) -> int | None:
    """An optional positive integer id."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be an integer id.", code="invalid_type", field=field)
    if not 0 < value < 2**63:
        raise ValidationError(f"{field} is not a valid id.", code="invalid_value", field=field)
    return value


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
