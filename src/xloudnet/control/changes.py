"""Apply Neutron API changes to a copy-on-write fork (the first half of what-if).

The changes go through the same ``NeutronAPI`` interpreter as live requests, so a change the API
would refuse is refused here with the same error, and nothing of it is applied. The live plane is
never touched: the fork shares structure with it and diverges on write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import errors
from .context import Context
from .neutron import NeutronAPI, Request
from .plane import ControlPlane

MAX_CHANGES = 1000
METHODS = ("POST", "PUT", "DELETE")


class ChangeRejected(Exception):
    """A change the live API would refuse; carries that error and the change's position."""

    def __init__(self, index: int, error: errors.NeutronException):
        super().__init__(f"change {index}: {error}")
        self.index = index
        self.error = error


@dataclass
class Fork:
    """The forked plane after the changes, and which records they wrote."""

    plane: ControlPlane
    touched: set[tuple[str, str]]
    results: list[dict]


def apply_changes(plane: ControlPlane, ctx: Context, changes: Any, api: NeutronAPI | None = None) -> Fork:
    """Fork ``plane`` and apply ``changes`` in order as ``ctx`` would through the API.

    ``api``, the live plane's interpreter, lends the fork its URL table (cheaper than a new one).
    """
    if not isinstance(changes, list) or not changes:
        raise errors.HTTPBadRequest("'changes' must be a non-empty list of {method, path, body}")
    if len(changes) > MAX_CHANGES:
        raise errors.HTTPBadRequest(f"at most {MAX_CHANGES} changes per what-if")
    fork = plane.fork()
    api = api.for_plane(fork) if api is not None else NeutronAPI(fork)
    results = []
    for index, change in enumerate(changes):
        request = _request(index, change)
        try:
            response = api.handle(ctx, request)
        except errors.NeutronException as exc:
            raise ChangeRejected(index, exc) from None
        results.append({"status": response.status, "body": response.body})
    return Fork(plane=fork, touched=set(fork.store.touched or ()), results=results)


def _request(index: int, change: Any) -> Request:
    if not isinstance(change, dict):
        raise errors.HTTPBadRequest(f"change {index} must be an object")
    unknown = set(change) - {"method", "path", "body"}
    if unknown:
        raise errors.HTTPBadRequest(f"change {index}: unknown keys {sorted(unknown)}")
    method = change.get("method")
    path = change.get("path")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise errors.HTTPBadRequest(f"change {index}: method must be one of {list(METHODS)}")
    if not isinstance(path, str) or not path.startswith("/v2.0/"):
        raise errors.HTTPBadRequest(f"change {index}: path must start with /v2.0/")
    path, _, query = path.partition("?")
    items = [tuple(p.split("=", 1)) for p in query.split("&") if "=" in p] if query else []
    return Request(method=method.upper(), path=path, query=items, body=change.get("body"))
