"""Fixtures: the real app over a fresh ``ControlPlane``, tokens for admin / demo / alt_demo, and
a topology built through the Neutron API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sim_helpers import PASSWORD, Caller, build_topology, login

from xloudnet.api.app import create_app
from xloudnet.control.plane import ControlPlane
from xloudnet.settings import Settings


@pytest.fixture
def plane() -> ControlPlane:
    return ControlPlane()


@pytest.fixture
def client(plane) -> TestClient:
    return TestClient(create_app(plane, Settings(password=PASSWORD)), base_url="http://testserver",
                      raise_server_exceptions=False)


@pytest.fixture
def admin(client) -> Caller:
    return Caller(client, login(client, "admin"))


@pytest.fixture
def demo(client) -> Caller:
    return Caller(client, login(client, "demo"))


@pytest.fixture
def alt(client) -> Caller:
    return Caller(client, login(client, "alt_demo"))


@pytest.fixture
def topo(admin, demo, alt):
    return build_topology(admin, demo, alt)
