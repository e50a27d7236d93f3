"""Identity errors: one tree, each class knowing the HTTP status and title Keystone gives it.

The HTTP adapter turns any of these into ``{"error": {"code", "title", "message"}}``; nothing
else in the identity package knows about HTTP.
"""

from __future__ import annotations


class IdentityError(Exception):
    """Base of every identity failure; ``message`` is what the client reads."""

    http_status = 500
    title = "Internal Server Error"
    default_message = "An unexpected error prevented the server from fulfilling your request."

    def __init__(self, message: str | None = None):
        self.message = message or self.default_message
        super().__init__(self.message)

    def to_body(self) -> dict:
        """The Keystone error document."""
        return {"error": {"code": self.http_status, "title": self.title, "message": self.message}}


class ValidationError(IdentityError):
    """The request is malformed: wrong shape, wrong types, missing fields."""

    http_status = 400
    title = "Bad Request"
    default_message = (
        "The request you have made is malformed: the server could not comply with the request "
        "since it is either malformed or otherwise incorrect."
    )


class Unauthorized(IdentityError):
    """Missing, bad or expired credentials. The message stays generic on purpose: telling a
    caller *which* part was wrong (user, password, project) helps guessing."""

    http_status = 401
    title = "Unauthorized"
    default_message = "The request you have made requires authentication."


class Forbidden(IdentityError):
    """Authenticated, but the token's roles do not allow the action."""

    http_status = 403
    title = "Forbidden"
    default_message = "You are not authorized to perform the requested action."

    @classmethod
    def for_action(cls, action: str) -> "Forbidden":
        return cls(f"You are not authorized to perform the requested action: identity:{action}.")


class NotFound(IdentityError):
    http_status = 404
    title = "Not Found"
    default_message = "The resource could not be found."

    @classmethod
    def for_kind(cls, kind: str, ident: str) -> "NotFound":
        return cls(f"Could not find {kind}: {ident}.")


class MethodNotAllowed(IdentityError):
    http_status = 405
    title = "Method Not Allowed"
    default_message = "The method is not allowed for the requested URL."


class Conflict(IdentityError):
    http_status = 409
    title = "Conflict"
    default_message = "Conflict occurred attempting to store the resource."


class RequestTooLarge(IdentityError):
    http_status = 413
    title = "Request Entity Too Large"
    default_message = "Request is too large."
