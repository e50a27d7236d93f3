"""Whatever arrives — not JSON, wrong types, deep nesting, huge bodies — the identity API
answers with a Keystone error body and a 4xx, never a 5xx."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from identity_helpers import BASE, as_user, make_app, password_auth

from xloudnet.identity import IdentityService
from xloudnet.settings import Settings

TOKENS = "/identity/v3/auth/tokens"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)

# Bodies that look like the real thing with one part replaced by anything.
auth_shaped = st.builds(
    lambda methods, user, scope: {
        "auth": {
            "identity": {"methods": methods, "password": {"user": user}},
            "scope": scope,
        }
    },
    st.one_of(st.just(["password"]), json_values),
    st.one_of(
        st.just({"name": "demo", "domain": {"name": "Default"}, "password": "x"}), json_values
    ),
    json_values,
)


@pytest.fixture(scope="module")
def hostile_client():
    settings = Settings(max_body_bytes=4096)
    return TestClient(make_app(IdentityService(settings), settings), base_url=BASE)


def _assert_error(response, status=None):
    assert 400 <= response.status_code < 500, response.text
    if status is not None:
        assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == response.status_code and error["title"] and error["message"]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"{",
        b"[1, 2",
        b'{"a": NaN}',
        b'{"a": 1e999}',
        b"[" * 1100 + b"]" * 1100,
        b'{"a": "\\ud800"}',
        b"\xff\xfe",
    ],
    ids=[
        "empty",
        "text",
        "open-brace",
        "open-list",
        "nan",
        "infinity",
        "deep",
        "surrogate",
        "bytes",
    ],
)
def test_unparseable_login_bodies_are_400(hostile_client, raw):
    _assert_error(hostile_client.post(TOKENS, content=raw), 400)


def test_huge_bodies_are_refused_before_parsing(hostile_client):
    response = hostile_client.post(TOKENS, content=b'{"auth": "' + b"x" * 10_000 + b'"}')
    _assert_error(response, 413)


@hsettings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.one_of(json_values, auth_shaped))
def test_any_json_login_body_gets_a_4xx_or_a_token(hostile_client, body):
    response = hostile_client.post(TOKENS, json=body)
    if response.status_code != 201:
        _assert_error(response)


@hsettings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    attrs=st.dictionaries(
        st.sampled_from(
            [
                "name",
                "description",
                "enabled",
                "tags",
                "domain_id",
                "parent_id",
                "is_domain",
                "options",
                "x",
            ]
        ),
        json_values,
        max_size=5,
    )
)
def test_any_project_body_gets_a_4xx_or_a_project(hostile_client, attrs):
    admin = hostile_client.post(TOKENS, json=password_auth("admin", project="admin"))
    headers = as_user(admin.headers["X-Subject-Token"])
    response = hostile_client.post(
        "/identity/v3/projects", json={"project": attrs}, headers=headers
    )
    if response.status_code == 201:
        hostile_client.delete(
            f"/identity/v3/projects/{response.json()['project']['id']}", headers=headers
        )
    else:
        _assert_error(response)


@hsettings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    attrs=st.dictionaries(
        st.sampled_from(
            [
                "name",
                "password",
                "enabled",
                "domain_id",
                "default_project_id",
                "description",
                "email",
            ]
        ),
        json_values,
        max_size=5,
    )
)
def test_any_user_body_gets_a_4xx_or_a_user(hostile_client, attrs):
    admin = hostile_client.post(TOKENS, json=password_auth("admin", project="admin"))
    headers = as_user(admin.headers["X-Subject-Token"])
    response = hostile_client.post("/identity/v3/users", json={"user": attrs}, headers=headers)
    if response.status_code == 201:
        hostile_client.delete(
            f"/identity/v3/users/{response.json()['user']['id']}", headers=headers
        )
    else:
        _assert_error(response)


def test_wrong_envelope_and_blank_names_are_400(hostile_client):
    admin = hostile_client.post(TOKENS, json=password_auth("admin", project="admin"))
    headers = as_user(admin.headers["X-Subject-Token"])
    for body in (
        [],
        {"projects": {}},
        {"project": []},
        {"project": {"name": "  "}},
        {"project": {"name": "x", "enabled": "yes"}},
        {"project": {"name": "a\x00b"}},
    ):
        _assert_error(hostile_client.post("/identity/v3/projects", json=body, headers=headers), 400)
