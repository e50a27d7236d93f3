"""The Neutron endpoint: HTTP in, ``NeutronAPI`` requests out."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import orjson
from starlette.requests import Request as HTTPRequest
from starlette.responses import Response

from ..control import errors
from ..control.context import Context
from ..control.neutron import NeutronAPI, Request
from .errors import json_response, neutron_error

PREFIX = "/networking"


def base_url(request: HTTPRequest, public_url: str | None) -> str:
    """The server root as the client reached it (honours X-Forwarded-Proto)."""
    if public_url:
        return public_url.rstrip("/")
    scheme = request.headers.get("x-forwarded-proto", request.url.scheme)
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return f"{scheme}://{host}"


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
        request_id = f"req-{uuid.uuid4()}"
        headers = {"x-openstack-request-id": request_id}
        path = request.url.path[len(PREFIX) :] or "/"
        root = base_url(request, self.public_url) + PREFIX
        if path == "/":
            return self._versions(request, root, headers)
        ctx = self.authenticate(request.headers.get("x-auth-token"), request_id)
        if ctx is None:
            return self.unauthorized(request)
        try:
            body = await self._body(request)
            neutron_request = Request(
                method=request.method,
                path=path,
                query=request.query_params.multi_items(),
                body=body,
                if_match=_if_match(request.headers.get("if-match")),
                base_url=root,
            )
            result = self.api.handle(ctx, neutron_request)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a Neutron error body
            return neutron_error(exc, headers)
        return json_response(result.status, result.body, headers)

    def _versions(self, request: HTTPRequest, root: str, headers: dict) -> Response:
        if request.method not in ("GET", "HEAD"):
            return neutron_error(errors.HTTPMethodNotAllowed(), headers)
        version = {"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": f"{root}/v2.0/"}]}
        return json_response(200, {"versions": [version]}, headers)

    async def _body(self, request: HTTPRequest):
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            raise errors.HTTPRequestEntityTooLarge()
        raw = await request.body()
        if len(raw) > self.max_body_bytes:
            raise errors.HTTPRequestEntityTooLarge()
        if not raw.strip():
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise errors.HTTPBadRequest("Malformed request body") from None


def _if_match(value: str | None) -> int | None:
    if not value:
        return None
    key, _, number = value.partition("=")
    if key.strip() != "revision_number" or not number.strip().isdigit():
        raise errors.HTTPBadRequest(f"Invalid If-Match header: {value}. Expected revision_number=<int>")
    return int(number)
