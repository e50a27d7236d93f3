"""The token and discovery routes over HTTP: status codes, headers and Keystone bodies."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from identity_helpers import BASE, as_user, login, make_app, password_auth
from starlette.requests import Request

from xloudnet.api.identity_routes import auth_error_response
from xloudnet.settings import Settings

TOKENS = "/identity/v3/auth/tokens"


def _subject(caller: str, subject: str) -> dict:
    return {"X-Auth-Token": caller, "X-Subject-Token": subject}


def test_identity_root_answers_300_with_the_v3_entry(client):
    for path in ("/identity", "/identity/"):
        response = client.get(path)
        assert response.status_code == 300
        (v3,) = response.json()["versions"]["values"]
        assert v3["id"] == "v3.14" and v3["status"] == "stable"
        assert v3["links"] == [{"rel": "self", "href": f"{BASE}/identity/v3/"}]


def test_v3_document_answers_200_without_a_token(client):
    for path in ("/identity/v3", "/identity/v3/"):
        response = client.get(path)
        assert response.status_code == 200
        version = response.json()["version"]
        assert version["id"] == "v3.14"
        assert version["media-types"][0]["type"] == "application/vnd.openstack.identity-v3+json"


def test_login_returns_201_with_the_token_in_x_subject_token(client, identity):
    response = client.post(TOKENS, json=password_auth("demo", project="demo"))
    assert response.status_code == 201
    token_id = response.headers["X-Subject-Token"]
    token = response.json()["token"]
    assert identity.validate(token_id).user_id == token["user"]["id"]
    assert not token["expires_at"].endswith("+00:00") and token["expires_at"].endswith("Z")


def test_catalog_has_identity_network_and_simulation_on_three_interfaces(client):
    token = client.post(TOKENS, json=password_auth("demo", project="demo")).json()["token"]
    by_type = {entry["type"]: entry for entry in token["catalog"]}
    expected = {
        "identity": ("keystone", f"{BASE}/identity"),
        "network": ("neutron", f"{BASE}/networking"),
        "network-simulation": ("xloudnet", f"{BASE}/simulation"),
    }
    assert set(by_type) == set(expected)
    for kind, (name, url) in expected.items():
        entry = by_type[kind]
        assert entry["name"] == name and entry["id"]
        assert sorted(e["interface"] for e in entry["endpoints"]) == ["admin", "internal", "public"]
        for endpoint in entry["endpoints"]:
            assert endpoint["url"] == url and endpoint["id"]
            assert endpoint["region"] == endpoint["region_id"] == "RegionOne"


def test_catalog_urls_follow_the_host_header(client):
    response = client.post(
        TOKENS, json=password_auth("demo", project="demo"), headers={"Host": "cloud.example:8443"}
    )
    network = next(e for e in response.json()["token"]["catalog"] if e["type"] == "network")
    assert network["endpoints"][0]["url"] == "http://cloud.example:8443/networking"


def test_public_url_setting_overrides_the_request_host(identity):
    settings = Settings(public_url="https://api.example.com/")
    client = TestClient(make_app(identity, settings), base_url=BASE)
    token = client.post(TOKENS, json=password_auth("demo", project="demo")).json()["token"]
    urls = {e["type"]: e["endpoints"][0]["url"] for e in token["catalog"]}
    assert urls["network"] == "https://api.example.com/networking"
    assert client.get("/identity/v3").json()["version"]["links"][0]["href"] == (
        "https://api.example.com/identity/v3/"
    )


def test_a_catalog_callable_replaces_the_default_catalog(identity, settings):
    custom = [{"id": "x", "type": "compute", "name": "nova", "endpoints": []}]
    client = TestClient(make_app(identity, settings, catalog=lambda request: custom), base_url=BASE)
    token = client.post(TOKENS, json=password_auth("demo", project="demo")).json()["token"]
    assert token["catalog"] == custom


def test_nocatalog_leaves_the_catalog_out(client, demo_token):
    response = client.post(f"{TOKENS}?nocatalog", json=password_auth("demo", project="demo"))
    assert "catalog" not in response.json()["token"]
    shown = client.get(f"{TOKENS}?nocatalog", headers=_subject(demo_token, demo_token))
    assert "catalog" not in shown.json()["token"]


def test_bad_password_is_401_with_www_authenticate(client):
    response = client.post(TOKENS, json=password_auth("demo", "nope", project="demo"))
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": 401,
            "title": "Unauthorized",
            "message": "The request you have made requires authentication.",
        }
    }
    assert response.headers["WWW-Authenticate"] == f'Keystone uri="{BASE}/identity"'


def test_malformed_login_body_is_400(client):
    response = client.post(TOKENS, json={"auth": {"identity": {"methods": "password"}}})
    assert response.status_code == 400
    assert response.json()["error"]["title"] == "Bad Request"


def test_get_token_shows_the_same_body_as_issued(client, demo_token):
    response = client.get(TOKENS, headers=_subject(demo_token, demo_token))
    assert response.status_code == 200
    assert response.headers["X-Subject-Token"] == demo_token
    token = response.json()["token"]
    assert token["project"]["name"] == "demo" and token["catalog"]


def test_head_token_is_200_for_a_live_token_and_404_otherwise(client, admin_token, demo_token):
    assert client.head(TOKENS, headers=_subject(admin_token, demo_token)).status_code == 200
    assert client.head(TOKENS, headers=_subject(admin_token, "gAAAAAB-nope")).status_code == 404


def test_unknown_subject_token_is_404(client, admin_token):
    response = client.get(TOKENS, headers=_subject(admin_token, "gAAAAAB-nope"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == 404


def test_missing_or_invalid_caller_token_is_401(client, demo_token):
    assert client.get(TOKENS, headers={"X-Subject-Token": demo_token}).status_code == 401
    response = client.get(TOKENS, headers=_subject("bogus", demo_token))
    assert response.status_code == 401 and "WWW-Authenticate" in response.headers


def test_a_member_may_not_inspect_another_users_token(client, demo_token):
    other = login(client, "alt_demo", project="alt_demo")
    assert client.get(TOKENS, headers=_subject(demo_token, other)).status_code == 403


def test_delete_token_revokes_it(client, admin_token, demo_token):
    response = client.delete(TOKENS, headers=_subject(admin_token, demo_token))
    assert response.status_code == 204 and response.content == b""
    assert client.head(TOKENS, headers=_subject(admin_token, demo_token)).status_code == 404
    assert client.delete(TOKENS, headers=_subject(admin_token, demo_token)).status_code == 404


def test_users_may_revoke_their_own_token(client, demo_token):
    assert client.delete(TOKENS, headers=_subject(demo_token, demo_token)).status_code == 204
    assert client.get("/identity/v3/auth/projects", headers=as_user(demo_token)).status_code == 401


def test_expired_token_is_401_as_caller_and_404_as_subject(client, clock, admin_token, demo_token):
    clock.advance(3599)
    fresh_admin = login(client, "admin", project="admin")
    clock.advance(1)
    assert client.get(TOKENS, headers=_subject(demo_token, demo_token)).status_code == 401
    assert client.get(TOKENS, headers=_subject(fresh_admin, demo_token)).status_code == 404


def test_rescope_over_http_with_the_token_method(client):
    unscoped = client.post(TOKENS, json=password_auth("demo"))
    assert "catalog" not in unscoped.json()["token"]
    body = {
        "auth": {
            "identity": {
                "methods": ["token"],
                "token": {"id": unscoped.headers["X-Subject-Token"]},
            },
            "scope": {"project": {"name": "demo", "domain": {"id": "default"}}},
        }
    }
    response = client.post(TOKENS, json=body)
    assert response.status_code == 201
    assert response.json()["token"]["project"]["name"] == "demo"


def test_auth_catalog_lists_the_token_catalog(client, demo_token):
    response = client.get("/identity/v3/auth/catalog", headers=as_user(demo_token))
    assert response.status_code == 200
    assert {e["type"] for e in response.json()["catalog"]} == {
        "identity",
        "network",
        "network-simulation",
    }
    unscoped = client.post(TOKENS, json=password_auth("demo")).headers["X-Subject-Token"]
    assert client.get("/identity/v3/auth/catalog", headers=as_user(unscoped)).status_code == 403


def test_auth_projects_lists_where_the_user_can_scope(client):
    unscoped = client.post(TOKENS, json=password_auth("demo")).headers["X-Subject-Token"]
    response = client.get("/identity/v3/auth/projects", headers=as_user(unscoped))
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["projects"]] == ["demo"]
    assert response.json()["links"]["next"] is None


def test_auth_error_response_is_the_keystonemiddleware_401():
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "path": "/networking/v2.0/networks",
        "headers": [(b"host", b"cloud:9696")],
        "query_string": b"",
    }
    response = auth_error_response(Request(scope), Settings())
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Keystone uri="http://cloud:9696/identity"'
    assert json.loads(response.body)["error"]["title"] == "Unauthorized"
