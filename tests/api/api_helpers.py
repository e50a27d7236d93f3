"""Helpers for the in-process HTTP tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.testclient import TestClient

BASE = "http://testserver"
PASSWORD = "pw"
NET = "/networking/v2.0"
REQUEST_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
UNAUTHORIZED_BODY = {
    "error": {
        "code": 401,
        "title": "Unauthorized",
        "message": "The request you have made requires authentication.",
    }
}


def password_auth(user: str, project: str | None = None, password: str = PASSWORD) -> dict:
    """The body openstacksdk / OSC send to ``POST /v3/auth/tokens``."""
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": password}},
            },
            "scope": {"project": {"name": project or user, "domain": {"name": "Default"}}},
        }
    }


def login(client: TestClient, user: str, project: str | None = None) -> str:
    response = client.post("/identity/v3/auth/tokens", json=password_auth(user, project))
    assert response.status_code == 201, response.text
    return response.headers["x-subject-token"]


def neutron_error(response) -> dict:
    """The ``NeutronError`` object of an error response (asserting the envelope's shape)."""
    assert response.headers.get("content-type") == "application/json", response.headers
    body = response.json()
    assert set(body) == {"NeutronError"}, body
    error = body["NeutronError"]
    assert set(error) == {"type", "message", "detail"}, error
    assert isinstance(error["type"], str) and error["type"], error
    assert isinstance(error["message"], str), error
    return error


@dataclass
class ApiClient:
    """A TestClient bound to one user's token, with Neutron-shaped shortcuts."""

    http: TestClient
    token: str

    def headers(self, extra: dict | None = None) -> dict:
        return {"X-Auth-Token": self.token, **(extra or {})}

    def request(self, method: str, path: str, **kwargs):
        headers = self.headers(kwargs.pop("headers", None))
        return self.http.request(method, NET + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs):
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def create(self, collection: str, key: str, body: dict) -> dict:
        response = self.post(f"/{collection}", json={key: body})
        assert response.status_code == 201, response.text
        return response.json()[key]
