"""The analyser over floating-IP port forwarding: reach, allowed sets, matrix and what-if.

The cloud: an external network 203.0.113.0/24, demo's router on it, a VM ``web`` (group
admitting tcp 22 and tcp 8000-8005) behind it, and a floating IP with no association. The
what-if answers are checked against a brute-force oracle (allowed sets before and after).
"""

from __future__ import annotations

import pytest

from xloudnet.analysis import Session
from xloudnet.control.context import Context
from xloudnet.control.plane import ControlPlane

HOST = "198.51.100.7"


def _ctx(project: str, *roles: str) -> Context:
    return Context(project_id=project, user_id=f"{project}-user", roles=frozenset(roles))


@pytest.fixture
def cloud():
    plane = ControlPlane()
    admin, demo = _ctx("admin", "admin", "member", "reader"), _ctx("demo", "member", "reader")
    ext = plane.networks.create(admin, {"name": "public", "router:external": True})
    plane.subnets.create(admin, {"network_id": ext["id"], "cidr": "203.0.113.0/24", "ip_version": 4,
                                 "gateway_ip": "203.0.113.1"})
    net = plane.networks.create(demo, {"name": "private"})
    sub = plane.subnets.create(demo, {"network_id": net["id"], "cidr": "10.0.0.0/24", "ip_version": 4})
    router = plane.routers.create(demo, {"name": "r", "external_gateway_info": {"network_id": ext["id"]}})
    plane.routers.add_router_interface(demo, router["id"], {"subnet_id": sub["id"]})
    group = plane.security_groups.create(demo, {"name": "web"})
    for low, high in ((22, 22), (8000, 8005)):
        plane.security_group_rules.create(demo, {
            "security_group_id": group["id"], "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
            "port_range_min": low, "port_range_max": high})
    web = plane.ports.create(demo, {"network_id": net["id"], "name": "web", "device_owner": "compute:nova",
                                    "security_groups": [group["id"]]})
    fip = plane.floatingips.create(demo, {"floating_network_id": ext["id"]})
    return {"plane": plane, "demo": demo, "web": web, "fip": fip, "router": router}


def _forward(cloud, **body) -> dict:
    web = cloud["web"]
    body = {"protocol": "tcp", "internal_port_id": web["id"],
            "internal_ip_address": web["fixed_ips"][0]["ip_address"], **body}
    return cloud["plane"].port_forwardings.create(cloud["demo"], body, floatingip_id=cloud["fip"]["id"])


def _reach(cloud, **fields):
    session = Session(cloud["plane"], cloud["demo"])
    return session.reach(source={"ip_address": HOST}, destination={"ip_address": cloud["fip"]["floating_ip_address"]},
                         **fields)


def test_external_host_reaches_the_forwarded_port_and_the_trace_shows_the_port_dnat(cloud):
    _forward(cloud, external_port=2222, internal_port=22)
    answer = _reach(cloud, protocol="tcp", destination_port=2222).model_dump()
    assert answer["disposition"] == "ACCEPTED" and answer["delivered_to"] == f"port:{cloud['web']['id']}"
    [dnat] = [h for h in answer["hops"] if h["stage"] == "dnat"]
    assert dnat["translation"] == {"type": "DNAT", "from": cloud["fip"]["floating_ip_address"],
                                   "to": cloud["web"]["fixed_ips"][0]["ip_address"], "from_port": 2222, "to_port": 22}
    assert answer["return"]["flow"]["source_port"] == 2222  # the reply is un-DNATed, port included


def test_unforwarded_port_of_a_forwarding_floating_ip_is_refused_by_the_router(cloud):
    _forward(cloud, external_port=2222, internal_port=22)
    answer = _reach(cloud, protocol="tcp", destination_port=22)
    assert answer.disposition == "DENIED_INGRESS" and answer.hops[-1].node == f"router:{cloud['router']['id']}"


def test_allowed_set_to_a_forwarding_floating_ip_is_exact_through_n_to_n_ranges(cloud):
    _forward(cloud, external_port=2222, internal_port=22)
    _forward(cloud, external_port_range="9000:9009", internal_port_range="8000:8009")
    allowed = [a.model_dump() for a in _reach(cloud).allowed]
    assert allowed == [{"protocol": "tcp", "port_ranges": [[2222, 2222], [9000, 9005]]},
                       {"protocol": "icmp", "icmp_types": [[8, 8]]}]


def test_matrix_from_an_external_host_follows_forwardings(cloud):
    _forward(cloud, external_port_range="3000:3100", internal_port=22)
    session = Session(cloud["plane"], cloud["demo"])
    fip = cloud["fip"]["floating_ip_address"]
    verdicts = [session.matrix(protocol="tcp", destination_port=port, sources=[{"ip_address": HOST}],
                               destinations=[{"ip_address": fip}]).dispositions[0][0] for port in (2999, 3000, 3100, 3101)]
    assert verdicts == ["DENIED_INGRESS", "ACCEPTED", "ACCEPTED", "DENIED_INGRESS"]


def _oracle(cloud, changes) -> dict:
    """Allowed services from the host to the floating IP, before and after (brute force)."""
    plane = cloud["plane"]
    from xloudnet.control.changes import apply_changes

    fork = apply_changes(plane, cloud["demo"], changes)
    out = {}
    for label, state in (("before", plane), ("after", fork.plane)):
        answer = Session(state, cloud["demo"]).reach(
            source={"ip_address": HOST}, destination={"ip_address": cloud["fip"]["floating_ip_address"]},
            protocol="tcp")
        out[label] = [r for a in answer.allowed for r in (a.port_ranges or [])]
    return out


@pytest.mark.parametrize("body", [
    {"external_port": 2222, "internal_port": 22},
    {"external_port_range": "9000:9009", "internal_port_range": "8000:8009"},
    {"external_port_range": "9000:9009", "internal_port": 8003},
])
def test_whatif_creating_a_forwarding_reports_exactly_the_newly_allowed_ports(cloud, body):
    web = cloud["web"]
    path = f"/v2.0/floatingips/{cloud['fip']['id']}/port_forwardings"
    change = {"method": "POST", "path": path, "body": {"port_forwarding": {
        "protocol": "tcp", "internal_port_id": web["id"], "internal_ip_address": web["fixed_ips"][0]["ip_address"],
        **body}}}
    fip = cloud["fip"]["floating_ip_address"]
    answer = Session(cloud["plane"], cloud["demo"]).whatif(
        changes=[change], protocol="tcp", sources=[{"ip_address": HOST}], destinations=[{"ip_address": fip}])
    expected = _oracle(cloud, [change])
    assert expected["before"] == []
    got = [r for item in answer.newly_allowed if item.protocol == "tcp" for r in item.port_ranges]
    assert sorted(got) == sorted(expected["after"]) and answer.newly_blocked == []


def test_whatif_deleting_a_forwarding_blocks_its_ports(cloud):
    pf = _forward(cloud, external_port=2222, internal_port=22)
    path = f"/v2.0/floatingips/{cloud['fip']['id']}/port_forwardings/{pf['id']}"
    fip = cloud["fip"]["floating_ip_address"]
    answer = Session(cloud["plane"], cloud["demo"]).whatif(
        changes=[{"method": "DELETE", "path": path}], protocol="tcp",
        sources=[{"ip_address": HOST}], destinations=[{"ip_address": fip}])
    assert [(i.protocol, i.port_ranges) for i in answer.newly_blocked] == [("tcp", [[2222, 2222]])]
    assert answer.newly_allowed == []


def test_whatif_refuses_a_forwarding_the_api_would_refuse(cloud):
    from xloudnet.control.changes import ChangeRejected

    path = f"/v2.0/floatingips/{cloud['fip']['id']}/port_forwardings"
    with pytest.raises(ChangeRejected) as caught:
        Session(cloud["plane"], cloud["demo"]).whatif(changes=[{"method": "POST", "path": path, "body": {
            "port_forwarding": {"protocol": "tcp", "internal_port_id": cloud["web"]["id"],
                                "internal_ip_address": "10.9.9.9", "external_port": 1, "internal_port": 1}}}],
            protocol="tcp", destination_port=1)
    assert (caught.value.index, caught.value.error.status, caught.value.error.type) == (0, 400, "BadRequest")


def test_topology_has_a_port_forwarding_edge_from_the_floating_ip_to_the_port(cloud):
    _forward(cloud, external_port_range="9000:9009", internal_port_range="8000:8009")
    graph = Session(cloud["plane"], cloud["demo"]).topology()
    [edge] = [d for _a, b, d in graph.out_edges(f"floatingip:{cloud['fip']['id']}", data=True)
              if d["kind"] == "port_forwarding"]
    assert (edge["protocol"], edge["external_port_range"], edge["internal_port_range"], edge["address"]) == (
        "tcp", "9000:9009", "8000:8009", cloud["web"]["fixed_ips"][0]["ip_address"])
    assert graph.has_edge(f"router:{cloud['router']['id']}", f"floatingip:{cloud['fip']['id']}")


def test_the_packet_simulator_delivers_through_a_forwarding_and_drops_other_ports(cloud):
    cloud["plane"].security_group_rules.create(cloud["demo"], {
        "security_group_id": cloud["web"]["security_groups"][0], "direction": "ingress", "ethertype": "IPv4",
        "protocol": "udp", "port_range_min": 8001, "port_range_max": 8001})
    _forward(cloud, protocol="udp", external_port=6001, internal_port=8001)
    fip = cloud["fip"]["floating_ip_address"]
    flows = [{"source": {"ip_address": HOST}, "destination": {"ip_address": fip}, "protocol": "udp",
              "destination_port": port, "rate_kbps": 500, "packet_size": 500} for port in (6001, 6002)]
    result = Session(cloud["plane"], cloud["demo"]).simulate({"flows": flows, "duration_s": 0.2, "seed": 1})
    through, closed = result.model_dump()["flows"]
    assert through["disposition"] == "ACCEPTED" and through["path"][-1] == f"port:{cloud['web']['id']}/rx"
    assert through["delivered"]["packets"] == through["offered"]["packets"] > 0
    assert closed["disposition"] == "DENIED_INGRESS" and closed["delivered"]["packets"] == 0
