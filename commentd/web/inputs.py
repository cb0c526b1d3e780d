"""Turning a raw request into checked Python values, or a clear 4xx error.

Bodies are read by hand, never through bottle's ``request.body`` or ``request.json``: the size
is checked against the limit before a byte is read, and at most ``limit + 1`` bytes are ever
read, whatever the client claims.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from commentd.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from commentd.services.clients import AddressResolver, Client
from commentd.services.validation import whole_number

MAX_QUERY_FIELDS = 300
MAX_FORM_FIELDS = 600


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def query(environ: dict) -> dict[str, list[str]]:
    """The query string as lists of values, decoded as strict UTF-8."""
    raw = environ.get("QUERY_STRING", "")
    try:
        pairs = parse_qsl(
            raw.encode("latin-1").decode("utf-8"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=MAX_QUERY_FIELDS,
        )
    except (UnicodeError, ValueError) as exc:
        raise BadRequest(
            "The query string is not valid UTF-8 form data.", code="bad_query"
        ) from exc
    values: dict[str, list[str]] = {}
    for key, value in pairs:
        values.setdefault(key, []).append(value)
    return values


def one(params: dict[str, list[str]], name: str) -> str | None:
    """The single value of query parameter ``name``; the first one if repeated."""
    found = params.get(name)
    return found[0] if found else None


def _require_json_type(environ: dict) -> None:
    content_type = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType("Send the body as Content-Type: application/json.")


def body_bytes(environ: dict, limit: int) -> bytes:
    """The request body, refused with 413 when it is (or claims to be) over ``limit``."""
    length = whole_number(environ.get("CONTENT_LENGTH") or "0")
    if length is None:
        raise BadRequest("Content-Length is not a whole number.", code="bad_request")
    if length > limit:
        raise PayloadTooLarge(f"The body is over the limit of {limit} bytes.")
    data = environ["wsgi.input"].read(length) if length else b""
    if len(data) > limit:
        raise PayloadTooLarge(f"The body is over the limit of {limit} bytes.")
    return data


def json_body(environ: dict, limit: int) -> Any:
    """The body parsed as JSON (any JSON value); 415, 413 or 400 when it is not."""
    _require_json_type(environ)
    data = body_bytes(environ, limit)
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadRequest("The body is not valid JSON.", code="invalid_json") from exc


def json_object(environ: dict, limit: int) -> dict[str, Any]:
    """The body as a JSON object."""
    value = json_body(environ, limit)
    if not isinstance(value, dict):
        raise BadRequest("The body must be a JSON object.", code="invalid_json")
    return value


def bearer_token(environ: dict) -> str | None:
    """The token from ``Authorization: Bearer <token>``, if any."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def client(environ: dict, resolver: AddressResolver) -> Client:
    """The requesting client: its peer address, or the one trusted proxies forwarded."""
    return resolver.resolve(
        environ.get("REMOTE_ADDR") or "",
        environ.get("HTTP_X_FORWARDED_FOR"),
        environ.get("HTTP_USER_AGENT") or "",
    )


def form(environ: dict, limit: int) -> dict[str, list[str]]:
    """An ``application/x-www-form-urlencoded`` body (at most ``limit`` bytes, UTF-8) as
    lists of values; 415 for another type, 400 for bytes that are not UTF-8."""
    content_type = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("Send the form as application/x-www-form-urlencoded.")
    data = body_bytes(environ, limit)
    try:
        pairs = parse_qsl(
            data.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeError, ValueError) as exc:
        raise BadRequest("The form is not valid UTF-8 form data.", code="bad_request") from exc
    values: dict[str, list[str]] = {}
    for key, value in pairs:
        values.setdefault(key, []).append(value)
    return values
