"""Address scopes over HTTP: the API, the analyser's verdicts and traces, and what-if."""

from __future__ import annotations

import pytest
from sim_helpers import neutron_error


@pytest.fixture
def scoped(demo):
    """demo: scopes blue and red, one pool each; net-blue and net-red on one router; a VM on each
    (both in the default group, which admits its own members)."""
    made = {}
    for colour, prefix in (("blue", "10.10.0.0/16"), ("red", "10.20.0.0/16")):
        scope = demo.create("address-scopes", "address_scope", {"name": colour, "ip_version": 4})
        pool = demo.create("subnetpools", "subnetpool", {"name": colour, "prefixes": [prefix],
                                                         "default_prefixlen": 24, "address_scope_id": scope["id"]})
        net = demo.create("networks", "network", {"name": f"net-{colour}"})
        sub = demo.create("subnets", "subnet", {"network_id": net["id"], "ip_version": 4, "subnetpool_id": pool["id"]})
        made[colour] = {"scope": scope["id"], "pool": pool["id"], "net": net["id"], "sub": sub["id"]}
    router = demo.create("routers", "router", {"name": "r"})
    for colour in ("blue", "red"):
        response = demo.neutron("PUT", f"/routers/{router['id']}/add_router_interface",
                                {"subnet_id": made[colour]["sub"]})
        assert response.status_code == 200, response.text
        made[colour]["vm"] = demo.create("ports", "port", {"network_id": made[colour]["net"], "name": f"vm-{colour}",
                                                           "device_owner": "compute:nova", "device_id": colour})["id"]
    return made


def test_the_extension_is_advertised_and_networks_show_their_scope(demo, scoped):
    aliases = {e["alias"] for e in demo.neutron("GET", "/extensions").json()["extensions"]}
    assert {"address-scope", "rbac-address-scope"} <= aliases
    network = demo.neutron("GET", f"/networks/{scoped['blue']['net']}").json()["network"]
    assert (network["ipv4_address_scope"], network["ipv6_address_scope"]) == (scoped["blue"]["scope"], None)


def test_deleting_a_scope_in_use_is_409_over_http(demo, scoped):
    response = demo.neutron("DELETE", f"/address-scopes/{scoped['blue']['scope']}")
    assert response.status_code == 409
    assert neutron_error(response)["type"] == "AddressScopeInUse"


def test_a_router_does_not_route_between_scopes_and_says_why(demo, scoped):
    answer = demo.ask("/reachability", {"source": {"port_id": scoped["blue"]["vm"]},
                                        "destination": {"port_id": scoped["red"]["vm"]}, "protocol": "icmp"})
    assert (answer["disposition"], answer["reachable"]) == ("NO_ROUTE", False)
    assert answer["hops"][-1]["reason"] == "address scopes differ"
    assert answer["hops"][-1]["address_scopes"] == {"from": scoped["blue"]["scope"], "to": scoped["red"]["scope"]}


def test_moving_a_pool_into_the_other_scope_is_a_whatif_change(demo, scoped):
    change = {"method": "PUT", "path": f"/v2.0/subnetpools/{scoped['red']['pool']}",
              "body": {"subnetpool": {"address_scope_id": scoped["blue"]["scope"]}}}
    answer = demo.ask("/whatif", {"changes": [change], "protocol": "icmp"})
    pairs = {(i["source"]["port_id"], i["destination"]["port_id"]) for i in answer["newly_allowed"]}
    assert pairs == {(scoped["blue"]["vm"], scoped["red"]["vm"]), (scoped["red"]["vm"], scoped["blue"]["vm"])}
    assert all(i["before"] == "NO_ROUTE" for i in answer["newly_allowed"])
    assert answer["newly_blocked"] == []
    # live state untouched
    pool = demo.neutron("GET", f"/subnetpools/{scoped['red']['pool']}").json()["subnetpool"]
    assert pool["address_scope_id"] == scoped["red"]["scope"]


def test_a_whatif_change_the_api_refuses_is_that_error(demo, scoped):
    change = {"method": "PUT", "path": f"/v2.0/subnetpools/{scoped['red']['pool']}",
              "body": {"subnetpool": {"prefixes": ["10.20.0.0/16", "10.10.5.0/24"],
                                      "address_scope_id": scoped["blue"]["scope"]}}}
    response = demo.sim("POST", "/whatif", {"changes": [change], "protocol": "icmp"})
    assert response.status_code == 409
    assert neutron_error(response)["type"] == "AddressScopePrefixConflict"


def test_the_topology_shows_each_subnets_scope(demo, scoped):
    graph = demo.ask("/topology", method="GET")
    scopes = {n["id"]: n.get("address_scope") for n in graph["nodes"] if n["kind"] == "subnet"}
    assert scopes[scoped["blue"]["sub"]] == scoped["blue"]["scope"]
    assert scopes[scoped["red"]["sub"]] == scoped["red"]["scope"]


def test_creating_a_scope_is_a_whatif_change_that_evaluates_nothing(demo, scoped):
    change = {"method": "POST", "path": "/v2.0/address-scopes", "body": {"address_scope": {"ip_version": 4}}}
    answer = demo.ask("/whatif", {"changes": [change], "protocol": "icmp"})
    assert (answer["newly_allowed"], answer["newly_blocked"]) == ([], [])
    assert answer["evaluated"]["pairs"] == 0


def test_onboarding_a_subnet_into_another_scope_is_a_whatif_change(demo, scoped):
    """net-plain (10.30.0.0/24, no pool) shares the router with blue: routed, until onboarded to red."""
    net = demo.create("networks", "network", {"name": "net-plain"})
    sub = demo.create("subnets", "subnet", {"network_id": net["id"], "ip_version": 4, "cidr": "10.30.0.0/24"})
    router = demo.neutron("GET", "/routers").json()["routers"][0]["id"]
    assert demo.neutron("PUT", f"/routers/{router}/add_router_interface", {"subnet_id": sub["id"]}).status_code == 200
    vm = demo.create("ports", "port", {"network_id": net["id"], "device_owner": "compute:nova", "device_id": "plain"})
    before = demo.ask("/reachability", {"source": {"port_id": vm["id"]}, "destination": {"port_id": scoped["blue"]["vm"]},
                                        "protocol": "icmp"})
    assert before["disposition"] == "NO_ROUTE"  # "no scope" is not blue
    change = {"method": "PUT", "path": f"/v2.0/subnetpools/{scoped['blue']['pool']}/onboard_network_subnets",
              "body": {"network_id": net["id"]}}
    answer = demo.ask("/whatif", {"changes": [change], "protocol": "icmp"})
    pairs = {(i["source"]["port_id"], i["destination"]["port_id"]) for i in answer["newly_allowed"]}
    assert pairs == {(vm["id"], scoped["blue"]["vm"]), (scoped["blue"]["vm"], vm["id"])}
