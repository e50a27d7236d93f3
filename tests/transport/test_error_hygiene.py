"""Every error body has its service's one format, whatever the transport got wrong.

Networking and simulation answer ``{"NeutronError": {...}}``, identity Keystone's
``{"error": {...}}``; never FastAPI's ``{"detail": ...}``."""

from __future__ import annotations

import pytest
from transport_helpers import password_auth

INVALID_UTF8 = b'{"protocol": "\xff\xfe"}'
TOO_DEEP = b"[" * 1100 + b"]" * 1100

POSTS = {
    "networking": "/networking/v2.0/networks",
    "simulation": "/simulation/v1/reachability",
    "matrix": "/simulation/v1/reachability/matrix",
    "simulations": "/simulation/v1/simulations",
}


def neutron_error(response) -> dict:
    body = response.json()
    assert set(body) == {"NeutronError"}, body
    assert set(body["NeutronError"]) == {"type", "message", "detail"}, body
    return body["NeutronError"]


@pytest.mark.parametrize("raw", [INVALID_UTF8, TOO_DEEP], ids=["invalid-utf8", "nested-1100"])
@pytest.mark.parametrize("path", sorted(POSTS.values()))
def test_unparseable_body_is_neutron_400(client, token, path, raw):
    response = client.post(path, content=raw, headers={"X-Auth-Token": token, "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert neutron_error(response)["type"] == "HTTPBadRequest"


@pytest.mark.parametrize("raw", [INVALID_UTF8, TOO_DEEP], ids=["invalid-utf8", "nested-1100"])
def test_unparseable_identity_body_is_keystone_400(client, raw):
    response = client.post("/identity/v3/auth/tokens", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}
    assert response.json()["error"]["code"] == 400


def test_unknown_simulation_url_is_neutron_404(client, token):
    response = client.get("/simulation/v1/no-such-question", headers={"X-Auth-Token": token})
    assert response.status_code == 404
    assert neutron_error(response)["type"] == "HTTPNotFound"


def test_wrong_method_on_simulation_url_is_neutron_405(client, token):
    response = client.delete("/simulation/v1/reachability", headers={"X-Auth-Token": token})
    assert response.status_code == 405
    assert neutron_error(response)["type"] == "HTTPMethodNotAllowed"


def test_unknown_identity_url_is_keystone_404(client):
    response = client.get("/identity/v3/no-such-thing/deeper/still")
    assert response.status_code == 404
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize("path,method", [
    ("/networking/v2.0/networks", "GET"),
    ("/simulation/v1/security-groups/lint", "GET"),
    ("/simulation/v1/simulations", "GET"),
])
def test_duplicate_auth_tokens_are_400_on_networking_and_simulation(client, token, path, method):
    headers = [("X-Auth-Token", token), ("X-Auth-Token", token)]
    response = client.request(method, path, headers=headers)
    assert response.status_code == 400, response.text
    assert "X-Auth-Token" in neutron_error(response)["message"]


def test_duplicate_auth_tokens_even_one_valid_one_not_are_400(client, token):
    for pair in ([token, "bogus"], ["bogus", token]):
        response = client.get("/networking/v2.0/networks", headers=[("X-Auth-Token", t) for t in pair])
        assert response.status_code == 400


def test_duplicate_auth_tokens_are_keystone_400_on_identity(client, token):
    headers = [("X-Auth-Token", token), ("X-Auth-Token", token), ("X-Subject-Token", token)]
    response = client.get("/identity/v3/auth/tokens", headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 400


def test_a_single_auth_token_still_works_everywhere(client, token):
    headers = {"X-Auth-Token": token}
    assert client.get("/networking/v2.0/networks", headers=headers).status_code == 200
    assert client.get("/simulation/v1/simulations", headers=headers).status_code == 200
    assert client.get("/identity/v3/auth/tokens", headers={**headers, "X-Subject-Token": token}).status_code == 200
    assert client.post("/identity/v3/auth/tokens", json=password_auth("alt_demo")).status_code == 201


def test_guard_stops_reading_a_simulation_body_just_past_the_limit():
    """ASGI level: a 100 MB body in 64 KiB pieces; the guard pulls no more than the limit plus one
    piece, answers 413 itself and never calls the application."""
    import asyncio

    from xloudnet.api.limits import RequestGuard

    piece, pulled, sent, called = b" " * 65536, [], [], []

    async def receive():
        pulled.append(1)
        return {"type": "http.request", "body": piece, "more_body": len(pulled) < 1600}

    async def send(message):
        sent.append(message)

    async def app(scope, receive, send):
        called.append(1)

    scope = {"type": "http", "path": "/simulation/v1/reachability/matrix", "method": "POST",
             "headers": [(b"x-auth-token", b"t")]}
    asyncio.run(RequestGuard(app, max_body_bytes=1_048_576)(scope, receive, send))
    assert len(pulled) == 1_048_576 // 65536 + 1
    assert sent[0]["status"] == 413 and not called
    assert b"HTTPRequestEntityTooLarge" in sent[1]["body"]
