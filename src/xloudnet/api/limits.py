"""Transport guards every request passes before a service sees it.

- **Duplicate ``X-Auth-Token``** headers are refused (400) on every service: services used to read
  different copies (networking the last, simulation the first), so one request could be two
  callers. Each service answers in its own error format (Keystone's under ``/identity``,
  Neutron's elsewhere).
- **``/simulation`` bodies** are read incrementally and refused with 413 as soon as they pass
  ``max_body_bytes`` (a 100 MB body is never buffered), then checked to be JSON (valid UTF-8,
  nesting within orjson's 1024 levels) before FastAPI parses them: a malformed body is a
  ``NeutronError`` 400, never FastAPI's ``{"detail": ...}``.
- Once the body is read the guard is the only reader of the connection: when the client goes
  away it sets the request's ``CancelToken`` (``cancel_token(scope)``), which long analysis
  checks between chunks of work.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import orjson

from ..control import errors
from .errors import keystone_error, neutron_error

SIMULATION_PREFIX = "/simulation"
IDENTITY_PREFIX = "/identity"
_CANCEL_KEY = "xloudnet.cancel"


class CancelToken:
    """Set once, when nobody wants the answer any more (client gone, server stopping).

    Read from worker threads (``is_set``), set from the event loop: a ``threading.Event``."""

    def __init__(self):
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


def cancel_token(scope: dict) -> CancelToken:
    """The request's token (a fresh, never-set one outside the guard, e.g. in unit tests)."""
    token = scope.get(_CANCEL_KEY)
    if token is None:
        token = scope[_CANCEL_KEY] = CancelToken()
    return token


async def read_limited(chunks: AsyncIterator[bytes], limit: int, declared: str | None) -> bytes:
    """The body, refusing (``HTTPRequestEntityTooLarge``) past ``limit`` bytes without reading on.

    ``declared`` is the Content-Length header: a body announced too large is refused unread."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise errors.HTTPRequestEntityTooLarge()
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise errors.HTTPRequestEntityTooLarge()
        parts.append(chunk)
    return b"".join(parts)


async def _receive_chunks(receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone()
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


class _ClientGone(Exception):
    pass


class RequestGuard:
    """Outermost ASGI middleware applying the rules in the module docstring."""

    def __init__(self, app, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        tokens = 0
        for name, _ in scope["headers"]:
            if name == b"x-auth-token":
                tokens += 1
        if tokens > 1:
            await self._refuse(path, 400, "Bad Request", "Duplicate X-Auth-Token headers.", scope, receive, send)
            return
        if path == SIMULATION_PREFIX or path.startswith(SIMULATION_PREFIX + "/"):
            await self._simulation(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _refuse(self, path, status, title, message, scope, receive, send) -> None:
        if path == IDENTITY_PREFIX or path.startswith(IDENTITY_PREFIX + "/"):
            response = keystone_error(status, title, message)
        else:
            error = errors.HTTPBadRequest(message) if status == 400 else errors.HTTPRequestEntityTooLarge()
            response = neutron_error(error)
        await response(scope, receive, send)

    async def _simulation(self, scope, receive, send) -> None:
        declared = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"content-length"), None)
        try:
            body = await read_limited(_receive_chunks(receive), self.max_body_bytes, declared)
        except errors.HTTPRequestEntityTooLarge as exc:
            await neutron_error(exc, {"connection": "close"})(scope, receive, send)
            return
        except _ClientGone:
            return
        if body.strip():
            try:
                orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                reason = str(exc).split(":")[0]
                await neutron_error(errors.HTTPBadRequest(f"Malformed request body: {reason}"))(scope, receive, send)
                return
        token = cancel_token(scope)
        gone = asyncio.Event()

        async def watch() -> None:
            # After the body, the only message left is the disconnect (or the server ending the
            # exchange once the response is sent).
            while (await receive())["type"] != "http.disconnect":
                pass
            token.set()
            gone.set()

        delivered = False

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        watcher = asyncio.ensure_future(watch())
        try:
            await self.app(scope, replay, send)
        finally:
            watcher.cancel()


__all__ = ["CancelToken", "RequestGuard", "cancel_token", "read_limited"]
