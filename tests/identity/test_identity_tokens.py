"""Token rules of the identity service itself (no HTTP): logins, scopes, expiry, renewal."""

from __future__ import annotations

import re

import pytest
from identity_helpers import password_auth

from xloudnet.control.context import Context
from xloudnet.identity import IdentityService, Unauthorized, ValidationError, default_catalog
from xloudnet.settings import Account, Settings

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def _issue(identity: IdentityService, body: dict, catalog=None) -> tuple[str, dict]:
    token_id, doc = identity.issue_token(body, catalog)
    return token_id, doc["token"]


def test_password_login_scoped_by_project_name_carries_implied_roles(identity):
    """A member's token lists member and the implied reader role."""
    token_id, token = _issue(identity, password_auth("demo", project="demo"))
    assert [r["name"] for r in token["roles"]] == ["member", "reader"]
    assert token["project"]["name"] == "demo"
    assert token["project"]["domain"] == {"id": "default", "name": "Default"}
    assert token["user"]["domain"] == {"id": "default", "name": "Default"}
    assert token["user"]["password_expires_at"] is None
    assert token["is_domain"] is False and token["methods"] == ["password"]
    info = identity.validate(token_id)
    assert info.roles == frozenset({"member", "reader"})
    assert (info.user_name, info.project_name, info.domain_id) == ("demo", "demo", "default")


def test_admin_role_implies_member_and_reader(identity):
    token_id, _ = _issue(identity, password_auth("admin", project="admin"))
    assert identity.validate(token_id).roles == frozenset({"admin", "member", "reader"})


def test_token_ids_are_long_url_safe_and_unique(identity):
    ids = {_issue(identity, password_auth("demo", project="demo"))[0] for _ in range(5)}
    assert len(ids) == 5
    for token_id in ids:
        assert len(token_id) >= 32 and re.fullmatch(r"[A-Za-z0-9_-]+", token_id)


def test_times_use_microseconds_and_z_suffix(identity):
    _, token = _issue(identity, password_auth("demo", project="demo"))
    assert TIME.match(token["expires_at"]) and TIME.match(token["issued_at"])
    assert token["issued_at"] == "2026-03-01T12:00:00.123456Z"
    assert token["expires_at"] == "2026-03-01T13:00:00.123456Z"
    assert len(token["audit_ids"]) == 1 and len(token["audit_ids"][0]) == 22


def test_user_and_project_by_id_and_domain_by_id(identity):
    demo = identity.directory.user_named("demo", "default")
    project = identity.directory.project_named("demo", "default")
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"id": demo.id, "password": "secret"}},
            },
            "scope": {"project": {"id": project.id}},
        }
    }
    _, token = _issue(identity, body)
    assert token["project"]["id"] == project.id
    body["auth"]["identity"]["password"]["user"] = {
        "name": "demo",
        "domain": {"id": "default"},
        "password": "secret",
    }
    body["auth"]["scope"] = {"project": {"name": "demo", "domain": {"id": "default"}}}
    assert _issue(identity, body)[1]["user"]["id"] == demo.id


def test_unscoped_token_has_no_project_roles_or_catalog(identity):
    catalog = default_catalog("http://h", "RegionOne")
    token_id, token = _issue(identity, password_auth("demo"), catalog)
    assert "project" not in token and "roles" not in token and "catalog" not in token
    info = identity.validate(token_id)
    assert info.scope == "unscoped" and info.project_id is None and info.roles == frozenset()


def test_scoped_token_includes_the_given_catalog(identity):
    catalog = default_catalog("http://h", "RegionOne")
    _, token = _issue(identity, password_auth("demo", project="demo"), catalog)
    assert token["catalog"] == catalog


@pytest.mark.parametrize(
    "body",
    [
        password_auth("demo", password="wrong", project="demo"),
        password_auth("nobody", project="demo"),
        password_auth("demo", project="admin"),  # no role there
        password_auth("demo", project="no-such-project"),
        password_auth("demo", password="x" * 5000, project="demo"),
    ],
    ids=["wrong-password", "unknown-user", "no-role", "unknown-project", "huge-password"],
)
def test_bad_credentials_or_scope_are_unauthorized(identity, body):
    with pytest.raises(Unauthorized):
        identity.issue_token(body)


def test_unknown_method_is_unauthorized(identity):
    body = {"auth": {"identity": {"methods": ["totp"], "totp": {}}}}
    with pytest.raises(Unauthorized, match="unsupported method"):
        identity.issue_token(body)


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {},
        {"auth": {}},
        {"auth": {"identity": {"methods": "password"}}},
        {"auth": {"identity": {"methods": []}}},
        {"auth": {"identity": {"methods": ["password"]}}},
        {"auth": {"identity": {"methods": ["password"], "password": {"user": {"password": "x"}}}}},
        {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "demo"}}}}},
        {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": 5}}}}},
        {"auth": {"identity": {"methods": ["token"], "token": {}}}},
        {
            **password_auth("demo"),
            "auth": {**password_auth("demo")["auth"], "scope": {"project": {"name": "demo"}}},
        },
        {
            **password_auth("demo"),
            "auth": {
                **password_auth("demo")["auth"],
                "scope": {"project": {"id": "p"}, "domain": {"id": "d"}},
            },
        },
    ],
)
def test_malformed_bodies_are_validation_errors(identity, body):
    with pytest.raises(ValidationError):
        identity.issue_token(body)


def test_token_expires_after_the_configured_lifetime(clock):
    identity = IdentityService(Settings(token_ttl_seconds=60), clock=clock)
    token_id, _ = _issue(identity, password_auth("demo", project="demo"))
    clock.advance(59)
    assert identity.validate(token_id) is not None
    clock.advance(1)
    assert identity.validate(token_id) is None


def test_expired_tokens_are_swept_when_new_ones_are_issued(identity, clock):
    _issue(identity, password_auth("demo", project="demo"))
    clock.advance(7200)
    _issue(identity, password_auth("demo", project="demo"))
    assert len(identity.tokens) == 1


def test_rescoping_with_a_token_keeps_its_expiry_and_audit_chain(identity, clock):
    """A token renewed from another never outlives it, and names it in audit_ids."""
    first_id, first = _issue(identity, password_auth("admin"))
    clock.advance(600)
    body = {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": first_id}},
            "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}},
        }
    }
    identity.directory.grant(
        identity.validate(first_id).user_id,
        "project",
        identity.directory.project_named("demo", "default").id,
        identity.directory.role_named("reader").id,
    )
    second_id, second = _issue(identity, body)
    assert second["expires_at"] == first["expires_at"]
    assert second["audit_ids"][1] == first["audit_ids"][0]
    assert second["methods"] == ["token", "password"]
    assert identity.validate(second_id).roles == frozenset({"reader"})


def test_rescoping_with_an_expired_token_is_unauthorized(identity, clock):
    token_id, _ = _issue(identity, password_auth("demo"))
    clock.advance(3600)
    body = {"auth": {"identity": {"methods": ["token"], "token": {"id": token_id}}}}
    with pytest.raises(Unauthorized):
        identity.issue_token(body)


def test_revoked_token_no_longer_validates(identity):
    token_id, _ = _issue(identity, password_auth("demo", project="demo"))
    identity.revoke(token_id)
    assert identity.validate(token_id) is None
    identity.revoke(token_id)  # idempotent


def test_validate_ignores_missing_and_unknown_ids(identity):
    assert identity.validate(None) is None
    assert identity.validate("") is None
    assert identity.validate("gAAAAAB-not-a-token") is None


def test_to_context_carries_project_user_roles_and_request_id(identity):
    token_id, _ = _issue(identity, password_auth("admin", project="admin"))
    info = identity.validate(token_id)
    ctx = info.to_context(request_id="req-1")
    assert isinstance(ctx, Context)
    assert (ctx.project_id, ctx.user_id, ctx.request_id) == (info.project_id, info.user_id, "req-1")
    assert ctx.is_admin and ctx.roles == info.roles


def test_accounts_follow_settings_with_their_own_password_and_project(clock):
    settings = Settings(
        password="pw",
        accounts=(Account("ops", "admin", password="ops-pw"), Account("bob", project="shared")),
    )
    identity = IdentityService(settings, clock=clock)
    ops_id, _ = _issue(identity, password_auth("ops", "ops-pw", project="ops"))
    assert "admin" in identity.validate(ops_id).roles
    _, bob = _issue(identity, password_auth("bob", "pw", project="shared"))
    assert bob["project"]["name"] == "shared"
    with pytest.raises(Unauthorized):
        identity.issue_token(password_auth("bob", "secret", project="shared"))


def test_domain_scope_needs_a_role_on_the_domain(identity):
    body = password_auth("admin")
    body["auth"]["scope"] = {"domain": {"name": "Default"}}
    with pytest.raises(Unauthorized):
        identity.issue_token(body)
    admin = identity.directory.user_named("admin", "default")
    identity.directory.grant(
        admin.id, "domain", "default", identity.directory.role_named("admin").id
    )
    token_id, doc = identity.issue_token(body, catalog=[])
    assert doc["token"]["domain"] == {"id": "default", "name": "Default"}
    info = identity.validate(token_id)
    assert info.scope == "domain" and info.domain_id == "default" and info.project_id is None


def test_no_scope_uses_the_default_project_when_the_user_has_a_role_there(identity):
    d = identity.directory
    user = d.user_named("demo", "default")
    d.update(user, default_project_id=d.project_named("demo", "default").id)
    _, token = _issue(identity, password_auth("demo"))
    assert token["project"]["name"] == "demo"
    explicit = password_auth("demo")
    explicit["auth"]["scope"] = "unscoped"
    assert "project" not in _issue(identity, explicit)[1]


def test_system_scope_is_refused(identity):
    body = password_auth("admin")
    body["auth"]["scope"] = {"system": {"all": True}}
    with pytest.raises(Unauthorized):
        identity.issue_token(body)


def test_disabled_user_cannot_log_in(identity):
    user = identity.directory.user_named("demo", "default")
    identity.directory.update(user, enabled=False)
    with pytest.raises(Unauthorized):
        identity.issue_token(password_auth("demo", project="demo"))
