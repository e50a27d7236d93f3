"""Application credentials: created by a user for their project, they log in without a
password and carry at most the roles chosen at creation."""

from __future__ import annotations

from identity_helpers import as_user, login

V3 = "/identity/v3"


def _me(client, token: str) -> dict:
    headers = {"X-Auth-Token": token, "X-Subject-Token": token}
    return client.get(f"{V3}/auth/tokens", headers=headers).json()["token"]


def _create(client, token: str, **attrs):
    user_id = _me(client, token)["user"]["id"]
    return client.post(
        f"{V3}/users/{user_id}/application_credentials",
        json={"application_credential": attrs},
        headers=as_user(token),
    )


def _login(client, **cred):
    body = {
        "auth": {
            "identity": {"methods": ["application_credential"], "application_credential": cred}
        }
    }
    return client.post(f"{V3}/auth/tokens", json=body)


def test_create_then_log_in_by_id_and_secret(client, demo_token):
    created = _create(client, demo_token, name="ci")
    assert created.status_code == 201
    cred = created.json()["application_credential"]
    assert cred["secret"] and {r["name"] for r in cred["roles"]} == {"member", "reader"}
    response = _login(client, id=cred["id"], secret=cred["secret"])
    assert response.status_code == 201
    token = response.json()["token"]
    assert token["methods"] == ["application_credential"]
    assert token["project"]["name"] == "demo" and token["catalog"]
    assert token["application_credential"] == {"id": cred["id"], "name": "ci", "restricted": True}


def test_log_in_by_name_and_user(client, demo_token):
    _create(client, demo_token, name="named", secret="s3cret")
    user = {"name": "demo", "domain": {"name": "Default"}}
    assert _login(client, name="named", user=user, secret="s3cret").status_code == 201
    assert _login(client, name="named", user=user, secret="wrong").status_code == 401


def test_roles_can_be_narrowed_but_not_widened(client, demo_token):
    cred = _create(client, demo_token, name="ro", roles=[{"name": "reader"}]).json()
    token = _login(
        client,
        id=cred["application_credential"]["id"],
        secret=cred["application_credential"]["secret"],
    ).json()["token"]
    assert [r["name"] for r in token["roles"]] == ["reader"]
    assert _create(client, demo_token, name="wide", roles=[{"name": "admin"}]).status_code == 403


def test_restricted_credential_tokens_cannot_mint_more(client, demo_token):
    cred = _create(client, demo_token, name="first").json()["application_credential"]
    token = _login(client, id=cred["id"], secret=cred["secret"]).headers["X-Subject-Token"]
    assert _create(client, token, name="second").status_code == 403


def test_expired_credential_is_unauthorized(client, clock, demo_token):
    cred = _create(client, demo_token, name="soon", expires_at="2026-03-01T12:30:00Z").json()
    cred = cred["application_credential"]
    assert cred["expires_at"] == "2026-03-01T12:30:00.000000Z"
    clock.advance(1800)
    assert _login(client, id=cred["id"], secret=cred["secret"]).status_code == 401


def test_list_show_delete_and_duplicate_names(client, demo_token):
    cred = _create(client, demo_token, name="one").json()["application_credential"]
    assert _create(client, demo_token, name="one").status_code == 409
    user_id = cred["user_id"]
    base = f"{V3}/users/{user_id}/application_credentials"
    listed = client.get(base, headers=as_user(demo_token)).json()["application_credentials"]
    assert [c["name"] for c in listed] == ["one"] and "secret" not in listed[0]
    assert client.get(f"{base}/{cred['id']}", headers=as_user(demo_token)).status_code == 200
    other = login(client, "alt_demo", project="alt_demo")
    assert client.get(base, headers=as_user(other)).status_code == 403
    assert client.delete(f"{base}/{cred['id']}", headers=as_user(demo_token)).status_code == 204
    assert _login(client, id=cred["id"], secret=cred["secret"]).status_code == 401


def test_losing_the_role_invalidates_the_credential(client, identity, demo_token):
    cred = _create(client, demo_token, name="gone").json()["application_credential"]
    d = identity.directory
    member = d.role_named("member")
    d.assignments.discard(next(a for a in d.assignments if a.user_id == cred["user_id"]))
    assert member is not None
    assert _login(client, id=cred["id"], secret=cred["secret"]).status_code == 401
