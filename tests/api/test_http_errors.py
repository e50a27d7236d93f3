"""Error mapping at the HTTP level: NeutronError bodies and status codes for malformed
requests, unknown URLs, wrong methods, oversized bodies, DELETE semantics and If-Match."""

from __future__ import annotations

import uuid

import pytest
from api_helpers import neutron_error

# --- request bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"network": {"name": "x",}}', b"not json at all", b'{"network": {"name": "\\x"}}', b"\xff\xfe\x00"],
)
def test_malformed_json_is_400_http_bad_request(demo, plane, raw):
    revision = plane.revision
    response = demo.post("/networks", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    error = neutron_error(response)
    assert error["type"] == "HTTPBadRequest"
    assert error["message"]
    assert plane.revision == revision


@pytest.mark.parametrize("body", [[], [1, 2], "network", 7, True, None])
def test_body_that_is_not_an_object_is_400(demo, body):
    """A JSON body that is not an object → 400 HTTPBadRequest (spec §1.1)."""
    response = demo.post("/networks", json=body)
    assert response.status_code == 400, response.text
    assert neutron_error(response)["type"] == "HTTPBadRequest"


def test_missing_envelope_is_400(demo):
    response = demo.post("/networks", json={"name": "no-envelope"})
    assert response.status_code == 400, response.text
    error = neutron_error(response)
    assert error["type"] == "HTTPBadRequest"
    assert "Unable to find 'network' in request body" in error["message"]


def test_unknown_attribute_is_400(demo):
    """Sample 064, byte for byte."""
    response = demo.post("/networks", json={"network": {"name": "x", "no_such_attr": 1}})
    assert response.status_code == 400
    assert response.json() == {
        "NeutronError": {"type": "HTTPBadRequest", "message": "Unrecognized attribute(s) 'no_such_attr'", "detail": ""}
    }


def test_empty_bulk_is_400(demo):
    response = demo.post("/networks", json={"networks": []})
    assert response.status_code == 400, response.text
    assert neutron_error(response)["type"] == "HTTPBadRequest"


def test_failed_bulk_create_leaves_nothing_behind(demo, plane):
    revision = plane.revision
    response = demo.post("/networks", json={"networks": [{"name": "ok-1"}, {"name": "bad", "bogus": True}]})
    assert response.status_code == 400, response.text
    assert plane.revision == revision
    assert demo.get("/networks").json()["networks"] == []


def test_oversized_body_is_413(demo, plane, settings):
    revision = plane.revision
    name = "x" * (settings.max_body_bytes + 10)
    response = demo.post("/networks", json={"network": {"name": name}})
    assert response.status_code == 413, response.text[:300]
    neutron_error(response)
    assert plane.revision == revision


def test_oversized_streamed_body_without_content_length_is_413(demo, plane, settings):
    """A chunked body (no Content-Length) is cut off at the limit too."""
    revision = plane.revision
    chunk = b" " * 65536

    def body():
        yield b'{"network": {"name": "'
        for _ in range(settings.max_body_bytes // len(chunk) + 2):
            yield chunk
        yield b'"}}'

    response = demo.post("/networks", content=body(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text[:300]
    neutron_error(response)
    assert plane.revision == revision


# --- URLs and methods -------------------------------------------------------------------------

NOT_FOUND = {"NeutronError": {"type": "HTTPNotFound", "message": "The resource could not be found.", "detail": ""}}


@pytest.mark.parametrize(
    "path",
    ["/no-such-things", "/networks/x/y/z", "/qos/nothing", "/security_groups", "/v2.0/networks"],
)
def test_unknown_url_is_404_http_not_found(demo, path):
    """Sample 065: an unknown collection is a 404 HTTPNotFound NeutronError."""
    response = demo.get(path)
    assert response.status_code == 404, response.text
    assert response.json() == NOT_FOUND


def test_unknown_version_is_404(client, demo):
    response = client.get("/networking/v3.0/networks", headers=demo.headers())
    assert response.status_code == 404, response.text
    assert neutron_error(response)["type"] == "HTTPNotFound"


@pytest.mark.parametrize("rid", ["not-a-uuid", str(uuid.uuid4()), "0", "%20"])
def test_unknown_id_is_resource_not_found_never_400(demo, rid):
    """openstacksdk/OSC ``find`` GETs ``/networks/<name>`` first and needs a 404 (spec §9.1)."""
    response = demo.get(f"/networks/{rid}")
    assert response.status_code == 404, response.text
    assert neutron_error(response)["type"] == "NetworkNotFound"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/networks"),
        ("PUT", "/networks"),
        ("DELETE", "/networks"),
        ("POST", "/networks/{id}"),
        ("PATCH", "/networks/{id}"),
        ("POST", "/extensions"),
        ("DELETE", "/extensions/router"),
        ("POST", "/"),
    ],
)
def test_wrong_method_is_405(demo, plane, method, path):
    network = demo.create("networks", "network", {"name": "m"})
    revision = plane.revision
    response = demo.request(method, path.format(id=network["id"]), json={"network": {"name": "changed"}})
    assert response.status_code == 405, response.text
    assert neutron_error(response)["type"] == "HTTPMethodNotAllowed"
    assert plane.revision == revision


# --- DELETE -----------------------------------------------------------------------------------


def test_delete_is_204_with_empty_body_and_then_404(demo):
    network = demo.create("networks", "network", {"name": "to-delete"})
    response = demo.delete(f"/networks/{network['id']}")
    assert response.status_code == 204
    assert response.content == b""
    gone = demo.get(f"/networks/{network['id']}")
    assert gone.status_code == 404
    assert gone.json() == {
        "NeutronError": {
            "type": "NetworkNotFound",
            "message": f"Network {network['id']} could not be found.",
            "detail": "",
        }
    }
    again = demo.delete(f"/networks/{network['id']}")
    assert again.status_code == 404
    assert neutron_error(again)["type"] == "NetworkNotFound"


def test_delete_with_a_body_is_400(demo):
    network = demo.create("networks", "network", {"name": "keep"})
    response = demo.request("DELETE", f"/networks/{network['id']}", json={"network": {}})
    assert response.status_code == 400, response.text
    assert neutron_error(response)["type"] == "HTTPBadRequest"
    assert demo.get(f"/networks/{network['id']}").status_code == 200


# --- If-Match ---------------------------------------------------------------------------------


def test_if_match_current_revision_updates(demo):
    network = demo.create("networks", "network", {"name": "rev"})
    assert network["revision_number"] == 1
    response = demo.put(
        f"/networks/{network['id']}",
        json={"network": {"description": "fresh"}},
        headers={"If-Match": "revision_number=1"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["network"]["revision_number"] == 2


def test_if_match_stale_revision_is_412(demo, plane):
    """Sample 018: ``If-Match: revision_number=<stale>`` → 412 RevisionNumberConstraintFailed."""
    network = demo.create("networks", "network", {"name": "rev"})
    for description in ("a", "b"):
        assert demo.put(f"/networks/{network['id']}", json={"network": {"description": description}}).status_code == 200
    revision = plane.revision
    response = demo.put(
        f"/networks/{network['id']}",
        json={"network": {"description": "stale"}},
        headers={"If-Match": "revision_number=1"},
    )
    assert response.status_code == 412, response.text
    assert response.json() == {
        "NeutronError": {
            "type": "RevisionNumberConstraintFailed",
            "message": "Constrained to 1, but current revision is 3",
            "detail": "",
        }
    }
    assert plane.revision == revision
    assert demo.get(f"/networks/{network['id']}").json()["network"]["description"] == "b"


def test_if_match_on_delete(demo):
    network = demo.create("networks", "network", {"name": "rev-del"})
    stale = demo.delete(f"/networks/{network['id']}", headers={"If-Match": "revision_number=7"})
    assert stale.status_code == 412, stale.text
    assert neutron_error(stale)["type"] == "RevisionNumberConstraintFailed"
    assert demo.get(f"/networks/{network['id']}").status_code == 200
    fresh = demo.delete(f"/networks/{network['id']}", headers={"If-Match": "revision_number=1"})
    assert fresh.status_code == 204, fresh.text


# --- project isolation over HTTP --------------------------------------------------------------


def test_other_projects_network_is_404_not_403(demo, alt_demo):
    """Existence is hidden (sample 015): another project's private network is NetworkNotFound."""
    network = demo.create("networks", "network", {"name": "private"})
    for response in (
        alt_demo.get(f"/networks/{network['id']}"),
        alt_demo.put(f"/networks/{network['id']}", json={"network": {"name": "stolen"}}),
        alt_demo.delete(f"/networks/{network['id']}"),
    ):
        assert response.status_code == 404, response.text
        assert neutron_error(response)["type"] == "NetworkNotFound"
    assert alt_demo.get("/networks").json()["networks"] == []
    assert demo.get(f"/networks/{network['id']}").json()["network"]["name"] == "private"
