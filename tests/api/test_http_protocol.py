"""HTTP protocol of the networking endpoint: authentication, version documents and headers.

What real Neutron behind keystonemiddleware answers (spec §1.1, §1.9, §1.11; samples 001, 002).
"""

from __future__ import annotations

import uuid

import pytest
from api_helpers import BASE, NET, REQUEST_ID, UNAUTHORIZED_BODY, neutron_error

COLLECTIONS = [
    "networks",
    "subnets",
    "ports",
    "routers",
    "floatingips",
    "security-groups",
    "security-group-rules",
    "qos/policies",
    "qos/rule-types",
    "extensions",
]


def _assert_401(response) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == UNAUTHORIZED_BODY
    assert response.headers["content-type"] == "application/json"
    challenge = response.headers.get("www-authenticate")
    assert challenge is not None, "401 without a WWW-Authenticate header"
    assert challenge.startswith('Keystone uri="') and challenge.endswith('"'), challenge
    assert challenge.startswith(f'Keystone uri="{BASE}/identity'), challenge


# --- authentication -------------------------------------------------------------------------


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_every_collection_requires_a_token(client, collection):
    """No X-Auth-Token: keystonemiddleware's 401 body and a WWW-Authenticate challenge."""
    _assert_401(client.get(f"{NET}/{collection}"))


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_writes_without_token_are_401_not_validated(client, plane, method):
    """Authentication comes before routing and body validation, and nothing is written."""
    revision = plane.revision
    path = f"{NET}/networks" if method == "POST" else f"{NET}/networks/{uuid.uuid4()}"
    _assert_401(client.request(method, path, content=b"{not json"))
    assert plane.revision == revision


def test_unknown_token_is_401(client):
    _assert_401(client.get(f"{NET}/networks", headers={"X-Auth-Token": "gAAAAAnot-a-real-token"}))


def test_empty_token_is_401(client):
    _assert_401(client.get(f"{NET}/networks", headers={"X-Auth-Token": ""}))


def test_revoked_token_is_401(client, demo):
    """A token revoked with DELETE /v3/auth/tokens stops working on the network API at once."""
    assert demo.get("/networks").status_code == 200
    revoke = client.delete(
        "/identity/v3/auth/tokens", headers={"X-Auth-Token": demo.token, "X-Subject-Token": demo.token}
    )
    assert revoke.status_code == 204, revoke.text
    _assert_401(demo.get("/networks"))


def test_valid_token_lists_networks(demo):
    response = demo.get("/networks")
    assert response.status_code == 200, response.text
    assert response.json() == {"networks": []}


# --- version documents ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/networking", "/networking/"])
def test_version_document_needs_no_token(client, path):
    """GET on the unversioned root (the catalog's network endpoint) is open (sample 001)."""
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "versions": [
            {"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": f"{BASE}/networking/v2.0/"}]}
        ]
    }


def test_version_document_honours_x_forwarded_proto(client):
    response = client.get("/networking", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert response.json()["versions"][0]["links"][0]["href"] == "https://testserver/networking/v2.0/"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_version_document_other_verbs_are_405(client, method):
    response = client.request(method, "/networking")
    assert response.status_code == 405, response.text
    neutron_error(response)


def test_v2_resources_document(demo):
    """GET /v2.0/ lists the core resources with absolute self links (sample 002)."""
    response = demo.get("/")
    assert response.status_code == 200, response.text
    resources = {r["name"]: r for r in response.json()["resources"]}
    for name in ("network", "subnet", "port"):
        entry = resources[name]
        assert entry["collection"] == name + "s"
        assert entry["links"] == [{"rel": "self", "href": f"{BASE}{NET}/{name}s"}]


def test_json_suffix_is_tolerated(demo):
    """Neutron accepts an optional ``.json`` suffix on the path (spec §1.1)."""
    response = demo.get("/networks.json")
    assert response.status_code == 200, response.text
    assert "networks" in response.json()


# --- headers ----------------------------------------------------------------------------------


def test_request_id_header_on_success_and_errors(demo):
    """Every API response carries ``x-openstack-request-id: req-<uuid>``, a new one each time."""
    seen = set()
    for response in (
        demo.get("/networks"),
        demo.get("/networks"),
        demo.get(f"/networks/{uuid.uuid4()}"),
        demo.post("/networks", content=b"{"),
        demo.get("/no-such-things"),
        demo.request("PATCH", "/networks"),
    ):
        request_id = response.headers.get("x-openstack-request-id")
        assert request_id is not None, (response.status_code, dict(response.headers))
        assert REQUEST_ID.match(request_id), request_id
        seen.add(request_id)
    assert len(seen) == 6, "request ids must be unique per request"


def test_request_id_header_on_create_and_delete(demo):
    created = demo.post("/networks", json={"network": {"name": "rid"}})
    assert created.status_code == 201, created.text
    assert REQUEST_ID.match(created.headers.get("x-openstack-request-id", ""))
    deleted = demo.delete(f"/networks/{created.json()['network']['id']}")
    assert deleted.status_code == 204
    assert REQUEST_ID.match(deleted.headers.get("x-openstack-request-id", ""))


def test_content_type_is_json_without_charset(demo):
    """Neutron sends exactly ``application/json`` (no charset) for bodies and errors."""
    created = demo.post("/networks", json={"network": {"name": "ct"}})
    assert created.status_code == 201, created.text
    responses = [
        created,
        demo.get("/networks"),
        demo.get(f"/networks/{created.json()['network']['id']}"),
        demo.put(f"/networks/{created.json()['network']['id']}", json={"network": {"name": "ct2"}}),
        demo.get(f"/networks/{uuid.uuid4()}"),
        demo.post("/networks", json={"network": {"bogus": 1}}),
        demo.get("/extensions"),
    ]
    for response in responses:
        assert response.headers.get("content-type") == "application/json", (
            response.request.method,
            response.request.url,
            response.headers.get("content-type"),
        )
