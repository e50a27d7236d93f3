"""The ONE place where domain errors become HTTP responses."""

from __future__ import annotations

import logging

import orjson
from starlette.responses import Response

from ..control import errors

log = logging.getLogger("xloudnet.api")

INTERNAL = "Request Failed: internal server error while processing your request."


def json_response(status: int, body, headers: dict | None = None) -> Response:
    """JSON without a charset parameter, as Neutron sends it."""
    if status == 204 or body is None:
        return Response(status_code=status, headers=headers)
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def neutron_error(exc: Exception, headers: dict | None = None) -> Response:
    """``{"NeutronError": {type, message, detail}}`` with the error's status."""
    if isinstance(exc, errors.NeutronException):
        status, kind, message = exc.status, exc.type, str(exc)
    else:
        log.exception("unexpected error", exc_info=exc)
        status, kind, message = 500, "HTTPInternalServerError", INTERNAL
    body = {"NeutronError": {"type": kind, "message": message, "detail": ""}}
    return json_response(status, body, headers)


def keystone_error(status: int, title: str, message: str, headers: dict | None = None) -> Response:
    return json_response(status, {"error": {"code": status, "title": title, "message": message}}, headers)
