"""The ONE place where domain errors become HTTP responses."""

from __future__ import annotations

import logging

import orjson
from starlette.responses import Response

from ..control import errors
from ..control.messages import JSON_NULL

log = logging.getLogger("xloudnet.api")

INTERNAL = "Request Failed: internal server error while processing your request."
MAX_MESSAGE_CHARS = 1000  # messages may quote request values: an answer never echoes a huge one


def _bounded(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE_CHARS else message[:MAX_MESSAGE_CHARS] + "..."


def json_response(status: int, body, headers: dict | None = None) -> Response:
    """JSON without a charset parameter, as Neutron sends it."""
    if status == 204 or body is None:
        return Response(status_code=status, headers=headers)
    if body is JSON_NULL:
        return Response(b"null", status_code=status, media_type="application/json", headers=headers)
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def neutron_error(exc: Exception, headers: dict | None = None) -> Response:
    """``{"NeutronError": {type, message, detail}}`` with the error's status."""
    if isinstance(exc, errors.NeutronException):
        status, kind, message = exc.status, exc.type, _bounded(str(exc))
    else:
        log.exception("unexpected error", exc_info=exc)
        status, kind, message = 500, "HTTPInternalServerError", INTERNAL
    body = {"NeutronError": {"type": kind, "message": message, "detail": ""}}
    return json_response(status, body, headers)


def validation_message(problems: list) -> str:
    """Neutron's wording for the first problem pydantic found in a request (where and what, never
    the offending value: it may be megabytes)."""
    if not problems:
        return "Invalid input: malformed request"
    first = problems[0]
    loc = list(first.get("loc", ()))
    if loc and loc[0] in ("body", "query", "path", "header"):  # where FastAPI found it, not a field
        loc = loc[1:]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    if first.get("type") == "extra_forbidden":
        return f"Unrecognized attribute(s) '{where}'"
    return f"Invalid input for {where or 'the request body'}. Reason: {first.get('msg', 'malformed')}."


class Unauthenticated(Exception):
    """No valid token on a request that needs one (answered with Keystone's 401 body)."""


def keystone_error(status: int, title: str, message: str, headers: dict | None = None) -> Response:
    return json_response(status, {"error": {"code": status, "title": title, "message": message}}, headers)


def install_error_handlers(app, unauthorized) -> None:
    """Register the translations for every route that FastAPI (not the Neutron endpoint) serves."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from ..control.changes import ChangeRejected

    @app.exception_handler(errors.NeutronException)
    async def _neutron(request, exc):
        return neutron_error(exc)

    @app.exception_handler(ChangeRejected)
    async def _change(request, exc):
        inner = exc.error
        body = {"NeutronError": {"type": inner.type, "message": _bounded(f"change {exc.index}: {inner}"), "detail": ""}}
        return json_response(inner.status, body)

    @app.exception_handler(Unauthenticated)
    async def _unauthenticated(request, exc):
        return unauthorized(request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc):
        return neutron_error(errors.HTTPBadRequest(validation_message(exc.errors())))

    from fastapi.exception_handlers import http_exception_handler
    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def _http(request, exc):
        # FastAPI's own refusals (an unparsable body, an unknown route) in /simulation's format.
        if not request.url.path.startswith("/simulation"):
            return await http_exception_handler(request, exc)
        kinds = {400: "HTTPBadRequest", 404: "HTTPNotFound", 405: "HTTPMethodNotAllowed"}
        kind = kinds.get(exc.status_code, "HTTPError")
        body = {"NeutronError": {"type": kind, "message": str(exc.detail), "detail": ""}}
        return json_response(exc.status_code, body, getattr(exc, "headers", None))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request, exc):
        # Routing misses (404/405) and FastAPI's own body-parsing failures: each service's error
        # format, never FastAPI's {"detail": ...}.
        if request.url.path.startswith("/identity"):
            return keystone_error(exc.status_code, _TITLES.get(exc.status_code, "Error"), str(exc.detail))
        kind = _TYPES.get(exc.status_code, "HTTPBadRequest" if exc.status_code < 500 else "HTTPInternalServerError")
        body = {"NeutronError": {"type": kind, "message": str(exc.detail), "detail": ""}}
        return json_response(exc.status_code, body)

    @app.exception_handler(ValueError)
    async def _value(request, exc):
        # The analysis layer's QueryError (a ValueError; not imported here: the analysis stack
        # loads lazily) carries its own 4xx status. Handled here, inside the routing layer, a 4xx
        # is an ordinary answer: a handler for ``Exception`` would run in the outermost layer,
        # which logs a traceback and closes the keep-alive connection after answering.
        return _status_error(exc)

    @app.exception_handler(Exception)
    async def _other(request, exc):
        return _status_error(exc)


_TITLES = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Request Entity Too Large"}
_TYPES = {404: "HTTPNotFound", 405: "HTTPMethodNotAllowed", 413: "HTTPRequestEntityTooLarge"}


def _status_error(exc: Exception) -> Response:
    status = getattr(exc, "http_status", None)
    if isinstance(status, int) and 400 <= status < 500:
        message = _bounded(getattr(exc, "message", None) or str(exc))
        body = {"NeutronError": {"type": type(exc).__name__, "message": message, "detail": ""}}
        return json_response(status, body)
    return neutron_error(exc)
