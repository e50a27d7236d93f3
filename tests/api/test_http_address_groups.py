"""``/v2.0/address-groups`` over HTTP: the lifecycle a client drives, Neutron's errors for
hostile or malformed bodies (never a 500, never half a change), and the shared view."""

from __future__ import annotations

import pytest
from api_helpers import neutron_error

AGS = "/address-groups"


@pytest.fixture
def ops(demo):
    return demo.create("address-groups", "address_group", {"name": "ops", "addresses": ["10.0.0.0/24"]})


def test_lifecycle_over_http(demo):
    ag = demo.create("address-groups", "address_group",
                     {"name": "ag", "description": "d", "addresses": ["10.10.10.3/32", "192.168.0.10/24", "2001:db8::f00/64"]})
    assert sorted(ag["addresses"]) == ["10.10.10.3/32", "192.168.0.0/24", "2001:db8::/64"]
    response = demo.put(f"{AGS}/{ag['id']}/add_addresses", json={"addresses": ["10.20.30.40/32"]})
    assert response.status_code == 200 and "10.20.30.40/32" in response.json()["address_group"]["addresses"]
    response = demo.put(f"{AGS}/{ag['id']}", json={"address_group": {"description": "new"}})
    assert response.status_code == 200 and response.json()["address_group"]["description"] == "new"
    assert demo.delete(f"{AGS}/{ag['id']}").status_code == 204
    assert neutron_error(demo.get(f"{AGS}/{ag['id']}"))["type"] == "AddressGroupNotFound"


@pytest.mark.parametrize("body", [b"{not json", b'"addresses"', b"[]", b'{"addresses": {"a": 1}}',
                                  b'{"addresses": [["10.0.0.0/8"]]}', b'{"addresses": [1e999]}',
                                  b'{"addresses": ["10.0.0.0/33"]}', b'{"addresses": ["' + b"1" * 5000 + b'"]}'])
@pytest.mark.parametrize("action", ["add_addresses", "remove_addresses"])
def test_malformed_action_bodies_are_400_and_change_nothing(demo, ops, action, body):
    response = demo.put(f"{AGS}/{ops['id']}/{action}", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    neutron_error(response)
    assert demo.get(f"{AGS}/{ops['id']}").json()["address_group"]["addresses"] == ["10.0.0.0/24"]


@pytest.mark.parametrize("addresses", [["10.20.30.40"], ["nonsense"], "10.0.0.0/8", [None], [{"cidr": "10.0.0.0/8"}],
                                       ["10.0.0.0/8", "10.0.0.0/8"]])
def test_bad_addresses_on_create_are_400(demo, addresses):
    response = demo.post(AGS, json={"address_group": {"addresses": addresses}})
    assert response.status_code == 400
    assert neutron_error(response)["type"] == "HTTPBadRequest"
    assert demo.get(AGS).json()["address_groups"] == []


def test_actions_on_a_group_of_another_project_are_404(demo, alt_demo, ops):
    for action in ("add_addresses", "remove_addresses"):
        response = alt_demo.put(f"{AGS}/{ops['id']}/{action}", json={"addresses": ["10.0.0.0/24"]})
        assert response.status_code == 404 and neutron_error(response)["type"] == "AddressGroupNotFound"
    assert alt_demo.get(AGS).json()["address_groups"] == []


def test_wrong_method_on_an_action_is_refused(demo, ops):
    response = demo.post(f"{AGS}/{ops['id']}/add_addresses", json={"addresses": []})
    assert response.status_code in (404, 405)
    neutron_error(response)


def test_security_group_rule_with_address_group_over_http(demo, ops):
    sg = demo.create("security-groups", "security_group", {"name": "db"})
    rule = demo.create("security-group-rules", "security_group_rule", {
        "security_group_id": sg["id"], "direction": "ingress", "protocol": "tcp", "port_range_min": 5432,
        "port_range_max": 5432, "remote_address_group_id": ops["id"]})
    assert rule["remote_address_group_id"] == ops["id"]
    shown = demo.get(f"/security-groups/{sg['id']}").json()["security_group"]
    assert ops["id"] in {r["remote_address_group_id"] for r in shown["security_group_rules"]}
    response = demo.delete(f"{AGS}/{ops['id']}")
    assert response.status_code == 409 and neutron_error(response)["type"] == "AddressGroupInUse"


def test_extension_documents(demo):
    response = demo.get("/extensions/address-group")
    assert response.status_code == 200
    assert response.json()["extension"]["name"] == "Address group"
