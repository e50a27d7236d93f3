"""Fixtures for the identity tests: a settable clock, the service, and a small FastAPI app
with only the identity router mounted under /identity."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from identity_helpers import BASE, Clock, login, make_app

from xloudnet.identity import IdentityService
from xloudnet.settings import Settings


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def identity(settings: Settings, clock: Clock) -> IdentityService:
    return IdentityService(settings, clock=clock)


@pytest.fixture
def client(identity: IdentityService, settings: Settings) -> TestClient:
    return TestClient(make_app(identity, settings), base_url=BASE)


@pytest.fixture
def admin_token(client: TestClient) -> str:
    return login(client, "admin", project="admin")


@pytest.fixture
def demo_token(client: TestClient) -> str:
    return login(client, "demo", project="demo")
