"""Scenarios on a cloud with a DHCP agent: every DHCP-enabled subnet gets the agent's port, and
addresses the file pins win over it (the file states final addresses, not the order of handing out)."""

from xloudnet.scenarios.loader import load
from xloudnet.scenarios.provision import embedded_plane, provision

PINNED = """\
name: pinned
networks: [{name: n}, {name: public, external: true, project: admin}]
subnets:
  - {name: s, network: n, cidr: 10.0.0.0/24}
  - {name: public-sub, network: public, cidr: 203.0.113.0/24, project: admin}
ports:
  - {name: p2, network: n, fixed_ips: [{subnet: s, ip_address: 10.0.0.2}]}
  - {name: p3, network: n, fixed_ips: [{ip_address: 10.0.0.3}]}
routers:
  - {name: r, external_gateway_info: {network: public, external_fixed_ips: [{ip_address: 203.0.113.2}]}}
floating_ips:
  - {floating_network: public, floating_ip_address: 203.0.113.3}
servers:
  - {name: vm, network: n}
"""


def _provision(tmp_path, text):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    scenario, source = load(path)
    plane, ids = embedded_plane()
    provision(scenario, source, plane, ids=ids)
    return plane


def _by_name(plane):
    return {p["name"] or p["device_owner"] + ":" + p["network_id"]: p for p in plane.store.table("ports").values()}


def test_pinned_addresses_win_over_the_dhcp_port(tmp_path):
    plane = _provision(tmp_path, PINNED)
    ports = list(plane.store.table("ports").values())
    dhcp = sorted(f["ip_address"] for p in ports if p["device_owner"] == "network:dhcp" for f in p["fixed_ips"])
    assert dhcp == ["10.0.0.4", "203.0.113.4"]  # lowest free outside what the file pins
    named = _by_name(plane)
    assert named["p2"]["fixed_ips"][0]["ip_address"] == "10.0.0.2"
    assert named["p3"]["fixed_ips"][0]["ip_address"] == "10.0.0.3"
    fip = next(iter(plane.store.table("floatingips").values()))
    assert fip["floating_ip_address"] == "203.0.113.3"
    addresses = [(f["subnet_id"], f["ip_address"]) for p in ports for f in p["fixed_ips"]]
    assert len(addresses) == len(set(addresses))


def test_unpinned_servers_come_after_the_dhcp_port(tmp_path):
    plane = _provision(tmp_path, "name: plain\nnetworks: [{name: n}]\nsubnets: [{name: s, network: n, cidr: 10.1.0.0/24}]\n"
                                 "servers: [{name: a, network: n}, {name: b, network: n}]\n")
    named = _by_name(plane)
    assert [named[n]["fixed_ips"][0]["ip_address"] for n in ("a", "b")] == ["10.1.0.3", "10.1.0.4"]
    [dhcp] = [p for p in named.values() if p["device_owner"] == "network:dhcp"]
    assert dhcp["fixed_ips"][0]["ip_address"] == "10.1.0.2"
