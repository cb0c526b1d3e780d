"""Every error commentd reports: an exception with an HTTP status and a stable code.

The web layer turns these into one JSON body, ``{"error": {"code", "message", "field"?}}``;
the CLI turns them into a ``click.ClickException``. Codes are part of the public API:
clients (the embed) switch on them, so never rename one.
"""

from __future__ import annotations


class CommentdError(Exception):
    """Base class: ``status`` is the HTTP status, ``code`` a stable machine-readable name."""

    status = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.field = field
        self.headers = dict(headers or {})

    def to_dict(self) -> dict:
        """The public error body."""
        body = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return {"error": body}


class BadRequest(CommentdError):
    status = 400
    code = "bad_request"


class ValidationError(BadRequest):
    """A field's value is missing, of the wrong type or out of bounds; ``field`` names it."""

    code = "invalid_value"


class Unauthorized(CommentdError):
    status = 401
    code = "invalid_token"


class Forbidden(CommentdError):
    status = 403
    code = "forbidden"


class ChallengeRequired(Forbidden):
    """A new comment needs a (harder) proof of work: the body carries a fresh ``challenge``
    (ALTCHA JSON) and the ``reason`` the one sent, if any, was not enough: ``missing``,
    ``invalid``, ``expired``, ``reused`` or ``too_easy``."""

    code = "challenge_required"

    def __init__(self, message: str, *, reason: str, challenge: dict) -> None:
        super().__init__(message, field="altcha")
        self.reason = reason
        self.challenge = challenge

    def to_dict(self) -> dict:
        body = super().to_dict()
        body["error"].update(reason=self.reason, challenge=self.challenge)
        return body


class NotFound(CommentdError):
    status = 404
    code = "not_found"


class Conflict(CommentdError):
    status = 409
    code = "conflict"


class PayloadTooLarge(CommentdError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(CommentdError):
    status = 415
    code = "unsupported_media_type"


class TooManyRequests(CommentdError):
    """Over a rate limit; carries a ``Retry-After`` header."""

    status = 429
    code = "rate_limited"


class ConfigError(CommentdError):
    """The configuration is invalid; raised at start-up, naming the key."""

    status = 500
    code = "config_error"


class DatabaseOpenError(CommentdError):
    """The database named by ``[database] url`` cannot be opened; raised at start-up with the
    reason and what to do, in one line."""

    status = 503
    code = "unavailable"
