"""Fixtures for control-plane tests: a fresh plane, the Neutron interpreter and callers."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from xloudnet.control import errors
from xloudnet.control.context import Context
from xloudnet.control.neutron import NeutronAPI, Request
from xloudnet.control.plane import ControlPlane

BASE = "http://xloudnet.test/networking"


@pytest.fixture
def plane() -> ControlPlane:
    """A control plane with a deterministic clock that ticks one second per call."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ticks = itertools.count()
    return ControlPlane(clock=lambda: start + timedelta(seconds=next(ticks)))


@pytest.fixture
def api(plane) -> NeutronAPI:
    return NeutronAPI(plane)


def _ctx(project: str, *roles: str) -> Context:
    expanded = set(roles)
    if "admin" in expanded:
        expanded |= {"member", "reader"}
    if "member" in expanded:
        expanded.add("reader")
    return Context(project_id=project, user_id=f"{project}-user", roles=frozenset(expanded))


@pytest.fixture
def admin() -> Context:
    return _ctx("admin-project", "admin")


@pytest.fixture
def demo() -> Context:
    return _ctx("demo-project", "member")


@pytest.fixture
def alt() -> Context:
    return _ctx("alt-project", "member")


@pytest.fixture
def reader() -> Context:
    return _ctx("demo-project", "reader")


@pytest.fixture
def call(api):
    """``call(ctx, method, path, body=None, query=None, if_match=None)`` → (status, body).

    Errors come back as Neutron's error body with its status, as the HTTP layer would send them.
    """

    def do(ctx, method, path, body=None, query=None, if_match=None):
        request = Request(method, path, query=list(query or []), body=body, if_match=if_match, base_url=BASE)
        try:
            response = api.handle(ctx, request)
        except errors.NeutronException as exc:
            return exc.status, {"NeutronError": {"type": exc.type, "message": str(exc), "detail": ""}}
        return response.status, response.body

    return do


@pytest.fixture
def net(call, demo):
    """``net(ctx=None, **attrs)`` creates a network (as demo by default) and returns it."""

    def make(ctx=None, **attrs):
        status, body = call(ctx or demo, "POST", "/v2.0/networks", {"network": attrs})
        assert status == 201, body
        return body["network"]

    return make
