"""Helpers shared by the identity tests (the fixtures live in conftest.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fastapi import FastAPI
from fastapi.testclient import TestClient

from xloudnet.api.identity_routes import build_identity_router
from xloudnet.identity import IdentityService
from xloudnet.settings import Settings

BASE = "http://testserver"


class Clock:
    """A clock that stands still until a test moves it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def password_auth(user: str, password: str = "secret", project: str | None = None) -> dict:
    """The body openstacksdk sends: user and project by name in domain Default."""
    auth: dict = {
        "identity": {
            "methods": ["password"],
            "password": {
                "user": {"name": user, "domain": {"name": "Default"}, "password": password}
            },
        }
    }
    if project is not None:
        auth["scope"] = {"project": {"name": project, "domain": {"name": "Default"}}}
    return {"auth": auth}


def make_app(identity: IdentityService, settings: Settings, **router_args) -> FastAPI:
    app = FastAPI()
    app.include_router(build_identity_router(identity, settings, **router_args), prefix="/identity")
    return app


def login(
    client: TestClient, user: str, password: str = "secret", project: str | None = None
) -> str:
    """A token id for the user, project-scoped when a project is named."""
    response = client.post("/identity/v3/auth/tokens", json=password_auth(user, password, project))
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"]


def as_user(token: str) -> dict:
    return {"X-Auth-Token": token}
