"""Fixtures for the in-process HTTP tests: the real app (``create_app``) over a fresh
``ControlPlane``, driven through ``fastapi.testclient.TestClient`` with real Keystone tokens.

``raise_server_exceptions=False`` on purpose: a server bug must show up as the 500 response a
client would get, not as a Python exception inside the test.
"""

from __future__ import annotations

import pytest
from api_helpers import BASE, PASSWORD, ApiClient, login
from fastapi.testclient import TestClient

from xloudnet.api.app import create_app
from xloudnet.control.plane import ControlPlane
from xloudnet.settings import Settings


@pytest.fixture
def plane() -> ControlPlane:
    return ControlPlane()


@pytest.fixture
def settings() -> Settings:
    return Settings(password=PASSWORD)


@pytest.fixture
def client(plane: ControlPlane, settings: Settings) -> TestClient:
    app = create_app(plane, settings)
    return TestClient(app, base_url=BASE, raise_server_exceptions=False)


@pytest.fixture
def demo(client: TestClient) -> ApiClient:
    """The ``demo`` member, logged in with a password."""
    return ApiClient(client, login(client, "demo"))


@pytest.fixture
def alt_demo(client: TestClient) -> ApiClient:
    return ApiClient(client, login(client, "alt_demo"))


@pytest.fixture
def admin(client: TestClient) -> ApiClient:
    return ApiClient(client, login(client, "admin"))
