"""The Neutron endpoint: HTTP in, ``NeutronAPI`` requests out."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request as HTTPRequest
from starlette.responses import Response

from ..control import errors
from ..control.context import Context
from ..control.neutron import NeutronAPI, Request
from .errors import json_response, neutron_error
from .limits import read_limited
from .urls import public_root

PREFIX = "/networking"


class NetworkingEndpoint:
    """Serves ``/networking``: version documents unauthenticated, everything else by token."""

    def __init__(
        self,
        api: NeutronAPI,
        authenticate: Callable[[str | None, str], Context | None],
        unauthorized: Callable[[HTTPRequest], Response],
        public_url: str | None,
        max_body_bytes: int,
    ):
        self.api = api
        self.authenticate = authenticate
        self.unauthorized = unauthorized
        self.public_url = public_url
        self.max_body_bytes = max_body_bytes

    async def handle(self, request: HTTPRequest) -> Response:
        """Answer one request. Reads the ASGI scope directly: this is the API's hot path."""
        scope = request.scope
        request_id = f"req-{uuid.uuid4()}"
        headers = {"x-openstack-request-id": request_id}
        wanted = _headers(scope)
        path = scope["path"][len(PREFIX) :] or "/"
        root = public_root(scope, self.public_url) + PREFIX
        if path == "/":
            return self._versions(scope["method"], root, headers)
        ctx = self.authenticate(wanted.get("x-auth-token"), request_id)
        if ctx is None:
            return self.unauthorized(request)
        try:
            body = await self._body(request, wanted.get("content-length"))
            neutron_request = Request(
                method=scope["method"],
                path=path,
                query=parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True),
                body=body,
                if_match=_if_match(wanted.get("if-match")),
                base_url=root,
            )
            result = self.api.handle(ctx, neutron_request)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a Neutron error body
            return neutron_error(exc, headers)
        return json_response(result.status, result.body, headers)

    def _versions(self, method: str, root: str, headers: dict) -> Response:
        if method not in ("GET", "HEAD"):
            return neutron_error(errors.HTTPMethodNotAllowed(), headers)
        version = {"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": f"{root}/v2.0/"}]}
        return json_response(200, {"versions": [version]}, headers)

    async def _body(self, request: HTTPRequest, length: str | None):
        raw = await read_limited(request.stream(), self.max_body_bytes, length)
        if not raw.strip():
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise errors.HTTPBadRequest("Malformed request body") from None


_WANTED = frozenset({b"x-auth-token", b"content-length", b"if-match"})


def _headers(scope: dict) -> dict[str, str]:
    """The few request headers the endpoint reads, decoded (ASGI names are lower-case)."""
    return {k.decode(): v.decode("latin-1") for k, v in scope["headers"] if k in _WANTED}


def _if_match(value: str | None) -> int | None:
    if not value:
        return None
    key, _, number = value.partition("=")
    number = number.strip()
    # Revision numbers are 64-bit; a longer run of digits is refused before int() (which raises
    # past 4300 digits and would cost quadratic time before that).
    if key.strip() != "revision_number" or not number.isascii() or not number.isdigit() or len(number) > 19:
        raise errors.HTTPBadRequest(f"Invalid If-Match header: {value}. Expected revision_number=<int>")
    return int(number)
