"""Ports: attribute rules, addresses, MACs, status, port security, bindings, policy (§3.3, §4.x, §6)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "neutron"


def _sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


def _error(body) -> tuple[str, str]:
    return body["NeutronError"]["type"], body["NeutronError"]["message"]


def _network(call, ctx, **extra) -> str:
    status, body = call(ctx, "POST", "/v2.0/networks", {"network": {"name": "net", **extra}})
    assert status == 201, body
    return body["network"]["id"]


def _subnet(call, ctx, net, cidr="10.0.0.0/24", version=4, **extra) -> dict:
    body = {"subnet": {"network_id": net, "ip_version": version, "cidr": cidr, **extra}}
    status, body = call(ctx, "POST", "/v2.0/subnets", body)
    assert status == 201, body
    return body["subnet"]


def _create(call, ctx, net, **extra):
    return call(ctx, "POST", "/v2.0/ports", {"port": {"network_id": net, **extra}})


def _port(call, ctx, net, **extra) -> dict:
    status, body = _create(call, ctx, net, **extra)
    assert status == 201, body
    return body["port"]


def _update(call, ctx, port_id, **changes):
    return call(ctx, "PUT", f"/v2.0/ports/{port_id}", {"port": changes})


@pytest.fixture
def net(call, demo):
    return _network(call, demo)


@pytest.fixture
def subnet(call, demo, net):
    return _subnet(call, demo, net)


# --- shape -------------------------------------------------------------------------------------
def test_port_has_the_keys_of_real_neutron(call, demo, admin, net, subnet):
    port = _port(call, demo, net)
    tenant = _sample("042-tenant-create-port-auto-ip.json")["response"]["body"]["port"]
    assert set(port) == set(tenant) | {"ip_allocation"}
    assert port["status"] == "DOWN" and port["ip_allocation"] == "immediate"
    assert re.fullmatch(r"fa:16:3e(:[0-9a-f]{2}){3}", port["mac_address"])
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": port["fixed_ips"][0]["ip_address"]}]
    assert len(port["security_groups"]) == 1 and port["port_security_enabled"] is True
    _, body = call(admin, "GET", f"/v2.0/ports/{port['id']}")
    as_admin = _sample("044-admin-show-port-binding-attrs.json")["response"]["body"]["port"]
    assert set(body["port"]) == set(as_admin) | {"ip_allocation"}
    assert body["port"]["binding:vif_type"] == "unbound" and body["port"]["binding:vif_details"] == {}
    assert body["port"]["binding:host_id"] == "" and body["port"]["binding:profile"] == {}


def test_the_default_group_is_the_projects_default(call, demo, net, subnet):
    port = _port(call, demo, net)
    _, groups = call(demo, "GET", "/v2.0/security-groups", query=[("name", "default")])
    assert port["security_groups"] == [groups["security_groups"][0]["id"]]


def test_port_on_network_without_subnets_has_no_addresses(call, demo, net):
    assert _port(call, demo, net)["fixed_ips"] == []


def test_port_on_unknown_network_is_404(call, demo):
    status, body = _create(call, demo, "3c0b7a36-7b8e-4c59-9d55-2f1f5cfa0b1b")
    assert (status, _error(body)[0]) == (404, "NetworkNotFound")


def test_network_id_is_required(call, demo):
    status, body = call(demo, "POST", "/v2.0/ports", {"port": {}})
    assert status == 400 and "Required attribute 'network_id'" in _error(body)[1]


def test_port_create_does_not_bump_the_network(call, demo, net, subnet):
    _, before = call(demo, "GET", f"/v2.0/networks/{net}")
    _port(call, demo, net)
    _, after = call(demo, "GET", f"/v2.0/networks/{net}")
    assert after["network"]["revision_number"] == before["network"]["revision_number"]


# --- fixed IPs ---------------------------------------------------------------------------------
def test_fixed_ip_requests_behave_like_samples_039_to_041(call, demo, net, subnet):
    port = _port(call, demo, net, fixed_ips=[{"subnet_id": subnet["id"], "ip_address": "10.0.0.50"}])
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.0.0.50"}]
    status, body = _create(call, demo, net, fixed_ips=[{"ip_address": "10.0.0.50"}])
    assert (status, _error(body)) == (409, ("IpAddressAlreadyAllocated",
                                            f"IP address 10.0.0.50 already allocated in subnet {subnet['id']}"))
    status, body = _create(call, demo, net, fixed_ips=[{"subnet_id": subnet["id"], "ip_address": "10.9.9.9"}])
    assert (status, _error(body)) == (400, ("InvalidIpForSubnet",
                                            "IP address 10.9.9.9 is not a valid IP for the specified subnet."))


def test_ip_outside_every_subnet_is_invalid_for_network(call, demo, net, subnet):
    status, body = _create(call, demo, net, fixed_ips=[{"ip_address": "10.9.9.9"}])
    assert (status, _error(body)[0]) == (400, "InvalidIpForNetwork")


@pytest.mark.parametrize("ip", ["10.0.0.0", "10.0.0.255"])
def test_network_and_broadcast_addresses_are_refused(call, demo, net, subnet, ip):
    assert _create(call, demo, net, fixed_ips=[{"ip_address": ip}])[0] == 400


def test_address_outside_the_pools_and_the_free_gateway_may_be_requested(call, demo, net):
    subnet = _subnet(call, demo, net, allocation_pools=[{"start": "10.0.0.10", "end": "10.0.0.20"}])
    assert _port(call, demo, net, fixed_ips=[{"ip_address": "10.0.0.200"}])["fixed_ips"][0]["ip_address"] == "10.0.0.200"
    assert _port(call, demo, net, fixed_ips=[{"ip_address": subnet["gateway_ip"]}])["fixed_ips"][0]["ip_address"] == "10.0.0.1"


def test_subnet_of_another_network_is_400_and_unknown_subnet_404(call, demo, net, subnet):
    other = _subnet(call, demo, _network(call, demo), "10.1.0.0/24")
    status, body = _create(call, demo, net, fixed_ips=[{"subnet_id": other["id"]}])
    assert (status, _error(body)[0]) == (400, "InvalidInput")
    status, body = _create(call, demo, net, fixed_ips=[{"subnet_id": "0b3c6b0e-2c51-4d3f-8a53-2a4b3f0f9a10"}])
    assert (status, _error(body)[0]) == (404, "SubnetNotFound")


def test_duplicate_ip_in_request_is_400(call, demo, net, subnet):
    status, body = _create(call, demo, net, fixed_ips=[{"ip_address": "10.0.0.5"}, {"ip_address": "10.0.0.5"}])
    assert status == 400 and "Duplicate IP address" in _error(body)[1]


def test_empty_fixed_ips_means_no_address(call, demo, net, subnet):
    port = _port(call, demo, net, fixed_ips=[])
    assert port["fixed_ips"] == [] and port["ip_allocation"] == "none"


def test_two_addresses_on_one_subnet(call, demo, net, subnet):
    port = _port(call, demo, net, fixed_ips=[{"subnet_id": subnet["id"]}, {"subnet_id": subnet["id"]}])
    ips = [ip["ip_address"] for ip in port["fixed_ips"]]
    assert len(set(ips)) == 2


def test_dual_stack_port_gets_one_address_per_family(call, demo, net, subnet):
    v6 = _subnet(call, demo, net, "2001:db8::/64", 6, ipv6_address_mode="dhcpv6-stateful", ipv6_ra_mode="dhcpv6-stateful")
    port = _port(call, demo, net)
    assert [ip["subnet_id"] for ip in port["fixed_ips"]] == [subnet["id"], v6["id"]]
    assert port["fixed_ips"][1]["ip_address"].startswith("2001:db8::")


def test_slaac_ports_get_eui64_and_refuse_specific_addresses(call, demo, net):
    slaac = _subnet(call, demo, net, "2001:db8::/64", 6, ipv6_address_mode="slaac", ipv6_ra_mode="slaac")
    port = _port(call, demo, net, mac_address="fa:16:3e:00:11:22")
    assert port["fixed_ips"] == [{"subnet_id": slaac["id"], "ip_address": "2001:db8::f816:3eff:fe00:1122"}]
    status, body = _create(call, demo, net, fixed_ips=[{"ip_address": "2001:db8::5"}])
    assert (status, _error(body)[0]) == (400, "AllocationOnAutoAddressSubnet")


def test_put_fixed_ips_replaces_the_list_and_releases_dropped_addresses(call, demo, net, subnet):
    port = _port(call, demo, net, fixed_ips=[{"ip_address": "10.0.0.5"}, {"ip_address": "10.0.0.6"}])
    status, body = _update(call, demo, port["id"], fixed_ips=[{"ip_address": "10.0.0.6"}, {"ip_address": "10.0.0.7"}])
    assert status == 200
    assert [ip["ip_address"] for ip in body["port"]["fixed_ips"]] == ["10.0.0.6", "10.0.0.7"]
    assert _port(call, demo, net, fixed_ips=[{"ip_address": "10.0.0.5"}])["fixed_ips"][0]["ip_address"] == "10.0.0.5"
    status, body = _update(call, demo, port["id"], fixed_ips=[{"subnet_id": subnet["id"]}])
    assert [ip["ip_address"] for ip in body["port"]["fixed_ips"]] == ["10.0.0.6"]


def test_put_may_take_an_address_from_another_port_only_if_free(call, demo, net, subnet):
    a = _port(call, demo, net, fixed_ips=[{"ip_address": "10.0.0.5"}])
    b = _port(call, demo, net, fixed_ips=[{"ip_address": "10.0.0.6"}])
    status, body = _update(call, demo, b["id"], fixed_ips=[{"ip_address": "10.0.0.5"}])
    assert (status, _error(body)[0]) == (409, "IpAddressAlreadyAllocated")
    _, body = call(demo, "GET", f"/v2.0/ports/{b['id']}")
    assert body["port"]["fixed_ips"][0]["ip_address"] == "10.0.0.6"  # the failed PUT changed nothing
    assert call(demo, "DELETE", f"/v2.0/ports/{a['id']}")[0] == 204
    assert _update(call, demo, b["id"], fixed_ips=[{"ip_address": "10.0.0.5"}])[0] == 200


def test_exhaustion_messages_are_network_or_subnet_specific(call, demo, net):
    subnet = _subnet(call, demo, net, "10.0.0.0/29")  # pool .2-.6; .2 is the DHCP agent's
    for _ in range(4):
        _port(call, demo, net)
    status, body = _create(call, demo, net)
    assert (status, _error(body)) == (409, ("IpAddressGenerationFailure", f"No more IP addresses available on network {net}."))
    status, body = _create(call, demo, net, fixed_ips=[{"subnet_id": subnet["id"]}])
    assert (status, _error(body)) == (
        409, ("IpAddressGenerationFailure", f"No more IP addresses available for subnet {subnet['id']}.")
    )


def test_full_first_subnet_falls_through_to_the_next(call, demo, net):
    _subnet(call, demo, net, "10.0.0.0/30", enable_dhcp=False)  # one address: .2
    second = _subnet(call, demo, net, "10.0.1.0/24")
    _port(call, demo, net)
    assert _port(call, demo, net)["fixed_ips"][0]["subnet_id"] == second["id"]


def test_failed_bulk_create_releases_every_address(call, demo, net, subnet):
    body = {"ports": [{"network_id": net, "fixed_ips": [{"ip_address": "10.0.0.20"}]},
                      {"network_id": net, "fixed_ips": [{"ip_address": "10.0.0.20"}]}]}
    status, result = call(demo, "POST", "/v2.0/ports", body)
    assert (status, _error(result)[0]) == (409, "IpAddressAlreadyAllocated")
    _, listing = call(demo, "GET", "/v2.0/ports")
    assert [p["device_owner"] for p in listing["ports"]] == ["network:dhcp"]  # the agent's only
    assert _port(call, demo, net, fixed_ips=[{"ip_address": "10.0.0.20"}])


def test_bulk_create_with_tags(call, demo, net, subnet):
    body = {"ports": [{"network_id": net, "tags": ["a", "b"]}, {"port": {"network_id": net, "tags": ["c"]}}]}
    status, result = call(demo, "POST", "/v2.0/ports", body)
    assert status == 201
    assert [p["tags"] for p in result["ports"]] == [["a", "b"], ["c"]]
    assert len({p["fixed_ips"][0]["ip_address"] for p in result["ports"]}) == 2


def test_service_type_subnets_serve_their_owners_first(call, admin, net):
    plain = _subnet(call, admin, net, "10.0.0.0/24")
    typed = _subnet(call, admin, net, "10.0.1.0/24", service_types=["network:router_gateway"])
    assert _port(call, admin, net, device_owner="network:router_gateway")["fixed_ips"][0]["subnet_id"] == typed["id"]
    assert _port(call, admin, net, device_owner="compute:nova")["fixed_ips"][0]["subnet_id"] == plain["id"]


# --- MAC addresses -----------------------------------------------------------------------------
def test_explicit_mac_is_normalised_and_unique_per_network(call, demo, net, subnet):
    port = _port(call, demo, net, mac_address="FA-16-3E-AA-BB-CC")
    assert port["mac_address"] == "fa:16:3e:aa:bb:cc"
    status, body = _create(call, demo, net, mac_address="fa:16:3e:aa:bb:cc")
    assert (status, _error(body)) == (409, ("MacAddressInUse",
                                            f"Unable to complete operation for network {net}. The mac address fa:16:3e:aa:bb:cc is in use."))
    assert _port(call, demo, _network(call, demo), mac_address="fa:16:3e:aa:bb:cc")


def test_invalid_mac_is_400(call, demo, net):
    status, body = _create(call, demo, net, mac_address="00:00:00:00:00:00")
    assert status == 400 and "is not a valid MAC address" in _error(body)[1]


def test_mac_change_is_admin_only_and_refused_on_bound_port(call, admin, demo, net, subnet):
    port = _port(call, demo, net)
    status, body = _update(call, demo, port["id"], mac_address="fa:16:3e:00:00:01")
    assert (status, _error(body)) == (403, ("PolicyNotAuthorized",
                                            "(rule:update_port and rule:update_port:mac_address) is disallowed by policy"))
    assert _update(call, admin, port["id"], mac_address="fa:16:3e:00:00:01")[0] == 200
    assert _update(call, admin, port["id"], **{"binding:host_id": "compute-1"})[0] == 200
    status, body = _update(call, admin, port["id"], mac_address="fa:16:3e:00:00:02")
    assert (status, _error(body)[0]) == (409, "PortBound")


def test_mac_filter_is_case_insensitive(call, demo, net):
    port = _port(call, demo, net, mac_address="fa:16:3e:ab:cd:ef")
    _, body = call(demo, "GET", "/v2.0/ports", query=[("mac_address", "FA:16:3E:AB:CD:EF")])
    assert [p["id"] for p in body["ports"]] == [port["id"]]


# --- status ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "owner, admin_up, status",
    [("", True, "DOWN"), ("compute:nova", True, "ACTIVE"), ("compute:nova", False, "DOWN"),
     ("baremetal:none", True, "ACTIVE"), ("network:dhcp", True, "ACTIVE"), ("manila:share", True, "DOWN")],
)
def test_status_follows_the_documented_rule(call, demo, net, subnet, owner, admin_up, status):
    assert _port(call, demo, net, device_owner=owner, admin_state_up=admin_up)["status"] == status


def test_status_follows_port_and_network_admin_state(call, demo, net, subnet):
    port = _port(call, demo, net, device_owner="compute:nova", device_id="vm-1")
    assert _update(call, demo, port["id"], admin_state_up=False)[1]["port"]["status"] == "DOWN"
    assert _update(call, demo, port["id"], admin_state_up=True)[1]["port"]["status"] == "ACTIVE"
    call(demo, "PUT", f"/v2.0/networks/{net}", {"network": {"admin_state_up": False}})
    assert call(demo, "GET", f"/v2.0/ports/{port['id']}")[1]["port"]["status"] == "DOWN"
    call(demo, "PUT", f"/v2.0/networks/{net}", {"network": {"admin_state_up": True}})
    assert call(demo, "GET", f"/v2.0/ports/{port['id']}")[1]["port"]["status"] == "ACTIVE"


def test_floating_ip_ports_are_not_applicable(call, admin, net, subnet):
    port = _port(call, admin, net, device_owner="network:floatingip", project_id="")
    assert port["status"] == "N/A"


# --- port security -----------------------------------------------------------------------------
def test_port_security_is_inherited_from_the_network(call, demo, subnet):
    net = _network(call, demo, port_security_enabled=False)
    _subnet(call, demo, net)
    port = _port(call, demo, net)
    assert port["port_security_enabled"] is False and port["security_groups"] == []


def test_network_owned_ports_are_trusted(call, demo, net, subnet):
    port = _port(call, demo, net, device_owner="network:dhcp", port_security_enabled=True)
    assert port["port_security_enabled"] is False and port["security_groups"] == []


def test_groups_without_port_security_are_400(call, demo, net, subnet):
    group = _port(call, demo, net)["security_groups"][0]
    status, body = _create(call, demo, net, port_security_enabled=False, security_groups=[group])
    assert (status, _error(body)[0]) == (400, "PortSecurityAndIPRequiredForSecurityGroups")


def test_disabling_port_security_needs_groups_removed(call, demo, net, subnet):
    port = _port(call, demo, net)
    status, body = _update(call, demo, port["id"], port_security_enabled=False)
    assert (status, _error(body)[0]) == (409, "PortSecurityPortHasSecurityGroup")
    status, body = _update(call, demo, port["id"], port_security_enabled=False, security_groups=[])
    assert status == 200 and body["port"]["port_security_enabled"] is False


def test_unknown_security_group_is_404(call, demo, net, subnet):
    status, body = _create(call, demo, net, security_groups=["1f7b8c66-1d6f-4ad4-9a0e-3e1b6a2f0c55"])
    assert (status, _error(body)[0]) == (404, "SecurityGroupNotFound")


def test_update_security_groups_like_sample_045(call, demo, net, subnet):
    _, group = call(demo, "POST", "/v2.0/security-groups", {"security_group": {"name": "web"}})
    port = _port(call, demo, net)
    status, body = _update(call, demo, port["id"], security_groups=[group["security_group"]["id"]], description="web vm")
    assert status == 200
    assert body["port"]["security_groups"] == [group["security_group"]["id"]]
    assert body["port"]["revision_number"] == port["revision_number"] + 1


def test_allowed_address_pairs_rules(call, demo, net, subnet):
    port = _port(call, demo, net, allowed_address_pairs=[{"ip_address": "10.0.0.0/24"},
                                                          {"ip_address": "10.1.1.1", "mac_address": "fa:16:3e:01:02:03"}])
    assert port["allowed_address_pairs"] == [
        {"ip_address": "10.0.0.0/24", "mac_address": port["mac_address"]},
        {"ip_address": "10.1.1.1", "mac_address": "fa:16:3e:01:02:03"},
    ]
    too_many = [{"ip_address": f"10.2.0.{i}"} for i in range(11)]
    assert _error(_create(call, demo, net, allowed_address_pairs=too_many)[1])[0] == "AllowedAddressPairExhausted"
    dup = [{"ip_address": "10.2.0.1"}, {"ip_address": "10.2.0.1"}]
    assert _create(call, demo, net, allowed_address_pairs=dup)[0] == 400
    assert _error(_create(call, demo, net, allowed_address_pairs=[{"mac_address": "fa:16:3e:01:02:03"}])[1])[0] == \
        "AllowedAddressPairsMissingIP"
    status, body = _create(call, demo, net, port_security_enabled=False, allowed_address_pairs=[{"ip_address": "10.2.0.1"}])
    assert (status, _error(body)[0]) == (409, "AddressPairAndPortSecurityRequired")
    status, body = _update(call, demo, port["id"], port_security_enabled=False, security_groups=[])
    assert (status, _error(body)[0]) == (409, "AddressPairAndPortSecurityRequired")


# --- bindings, qos, dhcp options ----------------------------------------------------------------
def test_binding_host_is_admin_only_and_binds_the_port(call, admin, demo, net, subnet):
    status, body = _create(call, demo, net, **{"binding:host_id": "compute-1"})
    assert (status, _error(body)[0]) == (403, "PolicyNotAuthorized")
    port = _port(call, admin, net, **{"binding:host_id": "compute-1", "project_id": demo.project_id})
    assert port["binding:vif_type"] == "ovs" and port["binding:vif_details"]["port_filter"] is True
    _, body = call(demo, "GET", f"/v2.0/ports/{port['id']}")
    assert not [k for k in body["port"] if k.startswith("binding:") and k != "binding:vnic_type"]
    _, body = _update(call, admin, port["id"], **{"binding:host_id": ""})
    assert body["port"]["binding:vif_type"] == "unbound"


def test_vnic_type_is_validated(call, demo, net):
    assert _port(call, demo, net, **{"binding:vnic_type": "direct"})["binding:vnic_type"] == "direct"
    assert _create(call, demo, net, **{"binding:vnic_type": "bogus"})[0] == 400


def test_qos_policy_must_be_usable(call, admin, demo, net):
    status, body = _create(call, demo, net, qos_policy_id="5a1e9f0c-3a6b-4d2e-9f7c-1b2a3c4d5e6f")
    assert (status, _error(body)[0]) == (404, "QosPolicyNotFound")
    _, policy = call(admin, "POST", "/v2.0/qos/policies", {"policy": {"name": "gold", "shared": True}})
    port = _port(call, demo, net, qos_policy_id=policy["policy"]["id"])
    assert port["qos_policy_id"] == policy["policy"]["id"]


def test_qos_network_policy_id_is_the_networks(call, admin, demo):
    _, policy = call(admin, "POST", "/v2.0/qos/policies", {"policy": {"name": "gold", "shared": True}})
    net = _network(call, demo, qos_policy_id=policy["policy"]["id"])
    port = _port(call, demo, net)
    assert port["qos_network_policy_id"] == policy["policy"]["id"] and port["qos_policy_id"] is None
    call(demo, "PUT", f"/v2.0/networks/{net}", {"network": {"qos_policy_id": None}})
    assert call(demo, "GET", f"/v2.0/ports/{port['id']}")[1]["port"]["qos_network_policy_id"] is None


def test_extra_dhcp_opts_merge_by_name_on_update(call, demo, net):
    port = _port(call, demo, net, extra_dhcp_opts=[{"opt_name": "bootfile-name", "opt_value": "pxelinux.0"}])
    assert port["extra_dhcp_opts"] == [{"opt_name": "bootfile-name", "opt_value": "pxelinux.0", "ip_version": 4}]
    _, body = _update(call, demo, port["id"], extra_dhcp_opts=[{"opt_name": "tftp-server", "opt_value": "10.0.0.9"}])
    assert [o["opt_name"] for o in body["port"]["extra_dhcp_opts"]] == ["bootfile-name", "tftp-server"]
    _, body = _update(call, demo, port["id"], extra_dhcp_opts=[{"opt_name": "bootfile-name", "opt_value": None}])
    assert [o["opt_name"] for o in body["port"]["extra_dhcp_opts"]] == ["tftp-server"]


# --- policy and visibility ---------------------------------------------------------------------
def test_anyone_may_create_ports_on_a_shared_network_but_not_pick_addresses(call, admin, alt):
    shared = _network(call, admin, shared=True)
    subnet = _subnet(call, admin, shared)
    port = _port(call, alt, shared, fixed_ips=[{"subnet_id": subnet["id"]}])
    assert port["project_id"] == alt.project_id
    for extra, rule in (
        ({"fixed_ips": [{"ip_address": "10.0.0.9"}]}, "fixed_ips:ip_address"),
        ({"mac_address": "fa:16:3e:00:00:09"}, "mac_address"),
        ({"device_owner": "network:dhcp"}, "device_owner"),
        ({"port_security_enabled": False}, "port_security_enabled"),
    ):
        status, body = _create(call, alt, shared, **extra)
        assert (status, _error(body)) == (403, ("PolicyNotAuthorized",
                                                f"(rule:create_port and rule:create_port:{rule}) is disallowed by policy"))


def test_ports_on_another_projects_networks(call, admin, demo, alt, net):
    assert _error(_create(call, alt, net)[1])[0] == "NetworkNotFound"
    external = _network(call, admin, **{"router:external": True})
    status, body = _create(call, alt, external)
    assert (status, _error(body)) == (403, ("PolicyNotAuthorized", "rule:create_port is disallowed by policy"))


def test_network_owner_sees_every_port_on_its_network(call, admin, demo, alt, net, subnet):
    call(admin, "PUT", f"/v2.0/networks/{net}", {"network": {"shared": True}})
    theirs = _port(call, alt, net)
    mine = _port(call, demo, net)
    _, body = call(demo, "GET", "/v2.0/ports")
    agent = {p["id"] for p in body["ports"] if p["device_owner"] == "network:dhcp"}  # demo's, too
    assert len(agent) == 1
    assert {p["id"] for p in body["ports"]} == {theirs["id"], mine["id"]} | agent
    _, body = call(alt, "GET", "/v2.0/ports")
    assert [p["id"] for p in body["ports"]] == [theirs["id"]]
    assert call(alt, "GET", f"/v2.0/ports/{mine['id']}")[0] == 404
    assert _update(call, demo, theirs["id"], name="mine-now")[0] == 200


def test_service_ports_of_project_empty_are_invisible_to_projects(call, admin, demo, net, subnet):
    port = _port(call, admin, net, device_owner="network:router_gateway", project_id="")
    assert port["project_id"] == ""
    _, body = call(admin, "GET", "/v2.0/ports", query=[("device_owner", "network:router_gateway")])
    assert [p["id"] for p in body["ports"]] == [port["id"]]


def test_reader_sees_but_cannot_change(call, demo, reader, net, subnet):
    port = _port(call, demo, net)
    assert call(reader, "GET", f"/v2.0/ports/{port['id']}")[0] == 200
    assert _update(call, reader, port["id"], name="x")[0] == 403
    assert _create(call, reader, net)[0] == 403


def test_router_interface_owner_needs_own_router(call, admin, demo, alt, subnet, net):
    call(admin, "PUT", f"/v2.0/networks/{net}", {"network": {"shared": True}})
    _, router = call(demo, "POST", "/v2.0/routers", {"router": {"name": "r"}})
    alt_net = _network(call, alt)
    _subnet(call, alt, alt_net, "10.7.0.0/24")
    status, body = _create(call, alt, alt_net, device_owner="network:router_interface", device_id=router["router"]["id"])
    assert (status, _error(body)[0]) == (409, "DeviceIDNotOwnedByTenant")


# --- delete ------------------------------------------------------------------------------------
def test_service_ports_cannot_be_deleted_through_the_port_api(call, demo, net, subnet):
    _, router = call(demo, "POST", "/v2.0/routers", {"router": {"name": "r"}})
    router_id = router["router"]["id"]
    _, info = call(demo, "PUT", f"/v2.0/routers/{router_id}/add_router_interface", {"subnet_id": subnet["id"]})
    status, body = call(demo, "DELETE", f"/v2.0/ports/{info['port_id']}")
    assert (status, _error(body)) == (409, ("ServicePortInUse",
        f"Port {info['port_id']} cannot be deleted directly via the port API: has device owner network:router_interface."))
    orphan = _port(call, demo, net, device_owner="network:router_interface", device_id="gone")
    assert call(demo, "DELETE", f"/v2.0/ports/{orphan['id']}")[0] == 204


def test_delete_internal_removes_service_ports_and_frees_their_address(plane, call, demo, net, subnet):
    port = _port(call, demo, net, device_owner="network:router_interface", fixed_ips=[{"ip_address": "10.0.0.1"}])
    plane.ports.delete_internal(port["id"])
    assert call(demo, "GET", f"/v2.0/ports/{port['id']}")[0] == 404
    assert _port(call, demo, net, fixed_ips=[{"ip_address": "10.0.0.1"}])


def test_deleting_a_port_disassociates_its_floating_ips(call, admin, demo, net, subnet):
    external = _network(call, admin, **{"router:external": True})
    _subnet(call, admin, external, "203.0.113.0/24", enable_dhcp=False)
    _, router = call(demo, "POST", "/v2.0/routers", {"router": {"name": "r", "external_gateway_info": {"network_id": external}}})
    call(demo, "PUT", f"/v2.0/routers/{router['router']['id']}/add_router_interface", {"subnet_id": subnet["id"]})
    port = _port(call, demo, net, device_owner="compute:nova")
    status, fip = call(demo, "POST", "/v2.0/floatingips", {"floatingip": {"floating_network_id": external, "port_id": port["id"]}})
    assert status == 201, fip
    assert call(demo, "DELETE", f"/v2.0/ports/{port['id']}")[0] == 204
    _, body = call(demo, "GET", f"/v2.0/floatingips/{fip['floatingip']['id']}")
    assert body["floatingip"]["port_id"] is None and body["floatingip"]["fixed_ip_address"] is None


def test_delete_port_like_sample_068(call, demo, net, subnet):
    port = _port(call, demo, net)
    assert call(demo, "DELETE", f"/v2.0/ports/{port['id']}") == (204, None)
    assert _error(call(demo, "GET", f"/v2.0/ports/{port['id']}")[1])[0] == "PortNotFound"


# --- hooks --------------------------------------------------------------------------------------
def test_ports_on_subnet_lists_the_holders(plane, call, demo, net, subnet):
    ports = {_port(call, demo, net)["id"] for _ in range(3)}
    _port(call, demo, net, fixed_ips=[])
    ports |= {p["id"] for p in plane.store.table("ports").values() if p["device_owner"] == "network:dhcp"}
    assert len(ports) == 4  # with the DHCP agent's port
    assert {p["id"] for p in plane.ports.ports_on_subnet(subnet["id"])} == ports


def test_router_code_may_create_ports_for_project_empty(plane, admin, call, demo, net, subnet):
    record = plane.ports.create(admin.__class__(project_id=demo.project_id, roles=frozenset({"member"})).elevated(), {
        "project_id": "", "network_id": net, "device_owner": "network:router_gateway", "device_id": "r1",
        "fixed_ips": [{"subnet_id": subnet["id"]}],
    })
    assert record["project_id"] == "" and record["status"] == "ACTIVE" and record["security_groups"] == []


def test_member_cannot_delete_a_port_holding_an_admins_floating_ip(call, admin, demo, net, subnet):
    external = _network(call, admin, **{"router:external": True})
    _subnet(call, admin, external, "203.0.113.0/24", enable_dhcp=False)
    _, router = call(demo, "POST", "/v2.0/routers", {"router": {"name": "r", "external_gateway_info": {"network_id": external}}})
    call(demo, "PUT", f"/v2.0/routers/{router['router']['id']}/add_router_interface", {"subnet_id": subnet["id"]})
    port = _port(call, demo, net, device_owner="compute:nova")
    status, fip = call(admin, "POST", "/v2.0/floatingips", {"floatingip": {"floating_network_id": external, "port_id": port["id"]}})
    assert status == 201, fip
    status, body = call(demo, "DELETE", f"/v2.0/ports/{port['id']}")
    assert (status, _error(body)[0]) == (409, "FipAssociated")
    assert call(admin, "DELETE", f"/v2.0/ports/{port['id']}")[0] == 204


def test_port_and_subnet_extensions_are_advertised(call, demo):
    _, body = call(demo, "GET", "/v2.0/extensions")
    aliases = {e["alias"] for e in body["extensions"]}
    assert {"allowed-address-pairs", "binding", "extra_dhcp_opt", "ip_allocation", "tag-ports-during-bulk-creation",
            "port-security-groups-filtering", "ip-substring-filtering", "subnet-service-types"} <= aliases
