"""The admin identity API over HTTP: what `openstack project/user/role/domain` and tempest's
dynamic credentials call."""

from __future__ import annotations

import pytest
from identity_helpers import BASE, as_user, login

V3 = "/identity/v3"


@pytest.fixture
def admin(admin_token):
    return as_user(admin_token)


def _create(client, admin, kind: str, **attrs) -> dict:
    response = client.post(f"{V3}/{kind}s", json={kind: attrs}, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()[kind]


def _id_of(client, admin, kind: str, name: str) -> str:
    (item,) = client.get(f"{V3}/{kind}s?name={name}", headers=admin).json()[f"{kind}s"]
    return item["id"]


def test_project_create_list_show_update_delete(client, admin):
    project = _create(client, admin, "project", name="p1", description="first")
    assert project["domain_id"] == "default" and project["parent_id"] == "default"
    assert project["links"]["self"] == f"{BASE}{V3}/projects/{project['id']}"
    listed = client.get(f"{V3}/projects?name=p1", headers=admin).json()
    assert [p["id"] for p in listed["projects"]] == [project["id"]]
    assert listed["links"] == {
        "self": f"{BASE}{V3}/projects?name=p1",
        "previous": None,
        "next": None,
    }
    shown = client.get(f"{V3}/projects/{project['id']}", headers=admin).json()["project"]
    assert shown == project
    updated = client.patch(
        f"{V3}/projects/{project['id']}", json={"project": {"description": "new"}}, headers=admin
    )
    assert updated.status_code == 200 and updated.json()["project"]["description"] == "new"
    assert client.delete(f"{V3}/projects/{project['id']}", headers=admin).status_code == 204
    assert client.get(f"{V3}/projects/{project['id']}", headers=admin).status_code == 404


def test_project_list_filters_by_domain(client, admin):
    assert (
        len(client.get(f"{V3}/projects?domain_id=default", headers=admin).json()["projects"]) == 3
    )
    assert client.get(f"{V3}/projects?domain_id=other", headers=admin).json()["projects"] == []


def test_duplicate_project_name_is_409(client, admin):
    response = client.post(f"{V3}/projects", json={"project": {"name": "demo"}}, headers=admin)
    assert response.status_code == 409
    assert "Duplicate entry" in response.json()["error"]["message"]


def test_unknown_project_is_404_with_a_keystone_message(client, admin):
    response = client.get(f"{V3}/projects/demo", headers=admin)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Could not find project: demo."


def test_project_extra_attributes_are_kept(client, admin):
    """Keystone stores unknown attributes; tempest relies on it."""
    project = _create(client, admin, "project", name="tagged", tags=["a"], owner="ci")
    assert project["owner"] == "ci" and project["tags"] == ["a"]


def test_admin_api_is_403_for_members(client, demo_token):
    member = as_user(demo_token)
    assert client.get(f"{V3}/projects", headers=member).status_code == 403
    response = client.post(f"{V3}/projects", json={"project": {"name": "x"}}, headers=member)
    assert response.status_code == 403 and response.json()["error"]["title"] == "Forbidden"
    assert client.get(f"{V3}/users", headers=member).status_code == 403
    assert client.get(f"{V3}/role_assignments", headers=member).status_code == 403


def test_admin_api_is_401_without_a_token(client):
    response = client.get(f"{V3}/projects")
    assert response.status_code == 401 and "WWW-Authenticate" in response.headers


def test_members_may_read_their_own_project_and_user(client, demo_token):
    member = as_user(demo_token)
    info = client.get(f"{V3}/auth/tokens", headers={**member, "X-Subject-Token": demo_token})
    token = info.json()["token"]
    own_project = client.get(f"{V3}/projects/{token['project']['id']}", headers=member)
    assert own_project.status_code == 200
    assert client.get(f"{V3}/users/{token['user']['id']}", headers=member).status_code == 200
    projects = client.get(f"{V3}/users/{token['user']['id']}/projects", headers=member).json()
    assert [p["name"] for p in projects["projects"]] == ["demo"]


def test_user_create_with_password_can_log_in_after_a_role_is_granted(client, admin):
    project = _create(client, admin, "project", name="tenant")
    user = _create(
        client, admin, "user", name="alice", password="pw", email="a@x", project_id=project["id"]
    )
    assert "password" not in user and user["email"] == "a@x"
    assert user["password_expires_at"] is None and user["domain_id"] == "default"
    login_body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"id": user["id"], "password": "pw"}},
            },
            "scope": {"project": {"id": project["id"]}},
        }
    }
    assert client.post(f"{V3}/auth/tokens", json=login_body).status_code == 401
    member_id = _id_of(client, admin, "role", "member")
    grant = f"{V3}/projects/{project['id']}/users/{user['id']}/roles/{member_id}"
    assert client.put(grant, headers=admin).status_code == 204
    assert client.head(grant, headers=admin).status_code == 204
    assert client.post(f"{V3}/auth/tokens", json=login_body).status_code == 201


def test_user_list_filters_and_delete(client, admin):
    assert [
        u["name"] for u in client.get(f"{V3}/users?name=demo", headers=admin).json()["users"]
    ] == ["demo"]
    user = _create(client, admin, "user", name="temp")
    assert client.delete(f"{V3}/users/{user['id']}", headers=admin).status_code == 204
    assert client.get(f"{V3}/users/{user['id']}", headers=admin).status_code == 404


def test_deleting_a_user_revokes_their_tokens(client, admin):
    _create(client, admin, "user", name="short-lived", password="pw")
    user_id = _id_of(client, admin, "user", "short-lived")
    token = client.post(
        f"{V3}/auth/tokens",
        json={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"id": user_id, "password": "pw"}},
                }
            }
        },
    ).headers["X-Subject-Token"]
    assert client.get(f"{V3}/auth/projects", headers=as_user(token)).status_code == 200
    client.delete(f"{V3}/users/{user_id}", headers=admin)
    assert client.get(f"{V3}/auth/projects", headers=as_user(token)).status_code == 401


def test_roles_list_filter_create_and_delete(client, admin):
    names = {r["name"] for r in client.get(f"{V3}/roles", headers=admin).json()["roles"]}
    assert {"admin", "member", "reader"} <= names
    role = _create(client, admin, "role", name="anotherrole")
    assert _id_of(client, admin, "role", "anotherrole") == role["id"]
    assert client.delete(f"{V3}/roles/{role['id']}", headers=admin).status_code == 204


def test_role_grant_list_and_revoke_revokes_tokens(client, admin):
    demo_id = _id_of(client, admin, "user", "demo")
    alt_id = _id_of(client, admin, "project", "alt_demo")
    reader_id = _id_of(client, admin, "role", "reader")
    grants = f"{V3}/projects/{alt_id}/users/{demo_id}/roles"
    assert client.head(f"{grants}/{reader_id}", headers=admin).status_code == 404
    assert client.put(f"{grants}/{reader_id}", headers=admin).status_code == 204
    assert [r["name"] for r in client.get(grants, headers=admin).json()["roles"]] == ["reader"]
    token = login(client, "demo", project="alt_demo")
    assert client.delete(f"{grants}/{reader_id}", headers=admin).status_code == 204
    assert client.get(f"{V3}/auth/projects", headers=as_user(token)).status_code == 401
    assert client.delete(f"{grants}/{reader_id}", headers=admin).status_code == 404


def test_grant_on_unknown_role_is_404(client, admin):
    demo_id = _id_of(client, admin, "user", "demo")
    project_id = _id_of(client, admin, "project", "demo")
    response = client.put(f"{V3}/projects/{project_id}/users/{demo_id}/roles/nope", headers=admin)
    assert response.status_code == 404


def test_role_assignments_filters_effective_and_names(client, admin):
    demo_id = _id_of(client, admin, "user", "demo")
    project_id = _id_of(client, admin, "project", "demo")
    query = f"{V3}/role_assignments?user.id={demo_id}&scope.project.id={project_id}"
    direct = client.get(query, headers=admin).json()["role_assignments"]
    assert [a["role"]["id"] for a in direct] == [_id_of(client, admin, "role", "member")]
    assert direct[0]["scope"] == {"project": {"id": project_id}}
    assert direct[0]["user"] == {"id": demo_id}
    effective = client.get(query + "&effective&include_names=True", headers=admin).json()
    rows = effective["role_assignments"]
    assert [a["role"]["name"] for a in rows] == ["member", "reader"]
    assert rows[0]["user"]["name"] == "demo" and rows[0]["scope"]["project"]["name"] == "demo"
    assert rows[1]["links"]["prior_role"].endswith(rows[0]["role"]["id"])
    by_role = client.get(f"{V3}/role_assignments?role.id={rows[0]['role']['id']}", headers=admin)
    assert {a["user"]["id"] for a in by_role.json()["role_assignments"]} >= {demo_id}


def test_members_may_list_their_own_role_assignments(client, demo_token, admin):
    demo_id = _id_of(client, admin, "user", "demo")
    own = client.get(f"{V3}/role_assignments?user.id={demo_id}", headers=as_user(demo_token))
    assert own.status_code == 200 and len(own.json()["role_assignments"]) == 1


def test_domains_list_and_show(client, admin):
    domains = client.get(f"{V3}/domains", headers=admin).json()["domains"]
    assert [(d["id"], d["name"]) for d in domains] == [("default", "Default")]
    shown = client.get(f"{V3}/domains/default", headers=admin).json()["domain"]
    assert shown["enabled"] is True
    assert (
        client.get(f"{V3}/domains?name=Default", headers=admin).json()["domains"][0]["id"]
        == "default"
    )


def test_domain_delete_requires_disabling_first(client, admin):
    domain = _create(client, admin, "domain", name="other")
    assert client.delete(f"{V3}/domains/{domain['id']}", headers=admin).status_code == 403
    client.patch(f"{V3}/domains/{domain['id']}", json={"domain": {"enabled": False}}, headers=admin)
    assert client.delete(f"{V3}/domains/{domain['id']}", headers=admin).status_code == 204


def test_project_in_another_domain(client, admin):
    domain = _create(client, admin, "domain", name="d2")
    project = _create(client, admin, "project", name="demo", domain_id=domain["id"])
    assert project["domain_id"] == domain["id"]  # same name, other domain: no conflict
    response = client.post(
        f"{V3}/projects", json={"project": {"name": "x", "domain_id": "nope"}}, headers=admin
    )
    assert response.status_code == 400


def test_change_own_password(client, demo_token, admin):
    demo_id = _id_of(client, admin, "user", "demo")
    body = {"user": {"original_password": "secret", "password": "new"}}
    url = f"{V3}/users/{demo_id}/password"
    assert client.post(url, json=body, headers=as_user(demo_token)).status_code == 204
    login(client, "demo", "new", project="demo")
    wrong = {"user": {"original_password": "bad", "password": "x"}}
    token = login(client, "demo", "new", project="demo")
    assert client.post(url, json=wrong, headers=as_user(token)).status_code == 401


def test_unknown_url_is_404_and_wrong_method_405(client, admin):
    response = client.get(f"{V3}/regions", headers=admin)
    assert response.status_code == 404 and response.json()["error"]["code"] == 404
    response = client.put(f"{V3}/projects", headers=admin)
    assert response.status_code == 405 and response.json()["error"]["code"] == 405


def test_trailing_slash_redirects_to_the_known_url(client, admin):
    response = client.get(f"{V3}/projects/?name=demo", headers=admin, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == f"{BASE}{V3}/projects?name=demo"


def test_strangers_get_401_before_their_body_is_read(client):
    response = client.post(f"{V3}/projects", content=b"not json")
    assert response.status_code == 401
