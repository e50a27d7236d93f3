"""Fixtures for the transport tests: the real app in-process, and the real server as a
subprocess (``python -m xloudnet.cli serve`` on a free loopback port) when the rule is about
connections, signals or logs."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from transport_helpers import PASSWORD, login

from xloudnet.api.app import create_app
from xloudnet.control.plane import ControlPlane
from xloudnet.settings import Settings


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(ControlPlane(), Settings(password=PASSWORD)), base_url="http://testserver",
                      raise_server_exceptions=False)


@pytest.fixture
def token(client) -> str:
    return login(client, "demo")
