"""Security-group testing: one flow against one port's groups."""

import ipaddress

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference import Index, Packet, rule_matches
from topologies import Topology, base, topologies
from xloudnet.analysis.sgtest import test_security_groups as sg_test
from xloudnet.dataplane import QueryError, compile_tables


def _ingress(port="vm-b", remote="10.0.1.10", protocol="tcp", **kw):
    return {"port_id": port, "direction": "ingress", "protocol": protocol,
            "remote_ip_address": remote, **kw}


def _with_group(*rules, stateful=True, port="vm-b"):
    t = base()
    t.group("g", name="g-name", stateful=stateful)
    for spec in rules:
        t.rule("g", **spec)
    t.ports[port]["security_groups"] = ["g"]
    return t.snapshot()


def _ids(answer):
    return [r["rule_id"] for r in answer["matching_rules"]]


def test_permit_lists_every_matching_rule_of_every_group():
    t = base()
    t.group("g2", name="second")
    t.rule("g2", "ingress", protocol="6", port_min=1, port_max=1024, id="g2-low")
    t.rule("g2", "ingress", protocol="udp", id="g2-udp")
    t.ports["vm-b"]["security_groups"] = ["sg-web", "g2"]
    answer = sg_test(t.snapshot(), _ingress(destination_port=80))
    assert answer["verdict"] == "PERMIT"
    assert _ids(answer) == ["web-http", "g2-low"]
    assert answer["matching_rules"][1] == {
        "rule_id": "g2-low", "security_group_id": "g2", "security_group_name": "second",
        "direction": "ingress", "ethertype": "IPv4", "protocol": "6", "port_range_min": 1,
        "port_range_max": 1024, "remote_ip_prefix": None, "remote_group_id": None,
        "remote_address_group_id": None}
    assert answer["port_security_enabled"] is True and answer["port_id"] == "vm-b"


def test_default_deny_when_no_rule_matches():
    answer = sg_test(base().snapshot(), _ingress(destination_port=22))
    assert answer["verdict"] == "DENY" and answer["matching_rules"] == []
    assert "default deny" in answer["reason"]


def test_group_without_rules_denies():
    assert sg_test(_with_group(), _ingress(destination_port=80))["verdict"] == "DENY"


def test_direction_is_respected():
    snap = _with_group({"direction": "egress", "protocol": "tcp"})
    assert sg_test(snap, _ingress(destination_port=80))["verdict"] == "DENY"
    egress = _ingress(destination_port=80) | {"direction": "egress"}
    assert sg_test(snap, egress)["verdict"] == "PERMIT"


def test_port_security_off_permits_with_reason():
    t = base()
    t.ports["vm-b"].update(port_security_enabled=False, security_groups=[])
    answer = sg_test(t.snapshot(), _ingress(destination_port=5432))
    assert answer["verdict"] == "PERMIT" and answer["port_security_enabled"] is False
    assert "port security" in answer["reason"] and answer["matching_rules"] == []


def test_trusted_network_port_permits():
    t = base()
    t.port("dhcp", "n-a", ("10.0.1.2",), owner="network:dhcp")
    assert sg_test(t.snapshot(), _ingress("dhcp", destination_port=67, protocol="udp"))["verdict"] == "PERMIT"


@pytest.mark.parametrize("port,verdict", [(7999, "DENY"), (8000, "PERMIT"), (8080, "PERMIT"), (8081, "DENY")])
def test_port_range_is_inclusive(port, verdict):
    snap = _with_group({"direction": "ingress", "protocol": "tcp", "port_min": 8000, "port_max": 8080})
    assert sg_test(snap, _ingress(destination_port=port))["verdict"] == verdict


@pytest.mark.parametrize("code,verdict", [(0, "PERMIT"), (1, "DENY"), (None, "PERMIT")])
def test_icmp_code_zero_is_a_real_code(code, verdict):
    snap = _with_group({"direction": "ingress", "protocol": "icmp", "port_min": 8, "port_max": 0})
    assert sg_test(snap, _ingress(protocol="icmp", icmp_type=8, icmp_code=code))["verdict"] == verdict


def test_icmp_without_type_is_echo_request():
    snap = _with_group({"direction": "ingress", "protocol": "icmp", "port_min": 8})
    assert sg_test(snap, _ingress(protocol="icmp"))["verdict"] == "PERMIT"
    assert sg_test(snap, _ingress(protocol="icmp", icmp_type=13))["verdict"] == "DENY"


def test_icmp_rule_on_ipv6_means_icmpv6():
    snap = _with_group({"direction": "ingress", "ethertype": "IPv6", "protocol": "icmp"})
    assert sg_test(snap, _ingress(remote="fd00:a::10", protocol="icmp"))["verdict"] == "PERMIT"
    assert sg_test(snap, _ingress(remote="fd00:a::10", protocol="ipv6-icmp"))["verdict"] == "PERMIT"
    assert sg_test(snap, _ingress(remote="10.0.1.10", protocol="icmp"))["verdict"] == "DENY"


@pytest.mark.parametrize("protocol", [None, "any", "0", "gre"])
def test_any_protocol_values_match_gre(protocol):
    snap = _with_group({"direction": "ingress", "protocol": protocol})
    assert sg_test(snap, _ingress(protocol=47))["verdict"] == "PERMIT"


def test_remote_prefix_keeps_host_bits_as_network():
    snap = _with_group({"direction": "ingress", "prefix": "10.0.1.99/24"})
    assert sg_test(snap, _ingress(destination_port=1))["verdict"] == "PERMIT"
    assert sg_test(snap, _ingress(remote="10.0.2.10", destination_port=1))["verdict"] == "DENY"


def test_remote_group_members_fixed_ips_and_pairs():
    t = base()
    t.group("g")
    t.rule("g", "ingress", remote_group="sg-open")
    t.ports["vm-b"]["security_groups"] = ["g"]
    t.port("vm-m", "n-a", ("10.0.1.30",), groups=("sg-open",), pairs=("192.168.0.0/16",))
    snap = t.snapshot()
    assert sg_test(snap, _ingress(remote="10.0.1.30", destination_port=1))["verdict"] == "PERMIT"
    assert sg_test(snap, _ingress(remote="192.168.7.7", destination_port=1))["verdict"] == "PERMIT"
    assert sg_test(snap, _ingress(remote="172.16.0.1", destination_port=1))["verdict"] == "DENY"


def test_remote_group_zero_pair_matches_everything():
    t = base()
    t.group("g")
    t.rule("g", "ingress", remote_group="sg-open")
    t.ports["vm-b"]["security_groups"] = ["g"]
    t.ports["vm-a"]["allowed_address_pairs"] = [{"ip_address": "0.0.0.0/0"}]
    assert sg_test(t.snapshot(), _ingress(remote="8.8.8.8", destination_port=1))["verdict"] == "PERMIT"


def test_accepts_flow_tables():
    tables = compile_tables(base().snapshot())
    assert sg_test(tables, _ingress(destination_port=80))["verdict"] == "PERMIT"


@pytest.mark.parametrize("bad", [
    {"direction": "sideways"}, {"port_id": "nope"}, {"destination_port": None},
    {"remote_ip_address": "not-an-ip"}, {"ethertype": "IPv6"}, {"protocol": "bogus"},
    {"protocol": None},
])
def test_invalid_queries_raise_query_error(bad):
    query = _ingress(destination_port=80) | bad
    with pytest.raises(QueryError):
        sg_test(base().snapshot(), query)


def _reference_ids(snapshot, query) -> list[str]:
    """The rules the data-plane reference says match, in the port's group order."""
    ix = Index(snapshot)
    port = snapshot.ports[query["port_id"]]
    remote = ipaddress.ip_address(query["remote_ip_address"])
    proto = {"tcp": 6, "udp": 17, "icmp": 1 if remote.version == 4 else 58, "gre": 47}[query["protocol"]]
    pkt = Packet(remote.version, remote, remote, proto, 49152, query.get("destination_port"),
                 query.get("icmp_type", 8 if remote.version == 4 else 128), query.get("icmp_code", 0))
    return [r["id"] for gid in port["security_groups"] for r in sorted(ix.rules[gid], key=lambda r: r["id"])
            if rule_matches(ix, r, query["direction"], pkt, remote)]


@st.composite
def _sg_queries(draw, topo: Topology):
    ports = sorted(p for p, v in topo.ports.items() if v["device_owner"] == "compute:nova")
    remote = draw(st.sampled_from(("10.0.1.10", "10.0.2.50", "10.0.1.50", "203.0.113.7",
                                   "198.51.100.7", "fd00:1::10", "2001:db8::1")))
    protocol = draw(st.sampled_from(("tcp", "udp", "icmp", "gre")))
    query = {"port_id": draw(st.sampled_from(ports)), "protocol": protocol, "remote_ip_address": remote,
             "direction": draw(st.sampled_from(("ingress", "egress")))}
    if protocol in ("tcp", "udp"):
        query["destination_port"] = draw(st.sampled_from((22, 80, 443, 1024, 8080)))
    if protocol == "icmp":
        query["icmp_type"] = draw(st.sampled_from((0, 3, 8, 13, 128)))
        query["icmp_code"] = draw(st.sampled_from((0, 1)))
    return query


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_matching_rules_agree_with_reference(data):
    """On random policies, the vectorised matcher picks exactly the reference's matching rules."""
    topo = data.draw(topologies())
    snapshot = topo.snapshot()
    for query in data.draw(st.lists(_sg_queries(topo), min_size=1, max_size=6)):
        answer = sg_test(snapshot, query)
        port = snapshot.ports[query["port_id"]]
        if port["port_security_enabled"] is False:
            assert answer["verdict"] == "PERMIT"
            continue
        want = _reference_ids(snapshot, query)
        assert _ids(answer) == want, query
        assert answer["verdict"] == ("PERMIT" if want else "DENY")


def test_thousand_rules_match_like_the_reference():
    """A port with 1000 rules is matched in one vectorised pass, with the reference's result."""
    t = base()
    t.group("big")
    for i in range(1000):
        lo = 1 + (i * 37) % 60000
        t.rule("big", "ingress", protocol=("tcp", "udp", "6")[i % 3], port_min=lo, port_max=lo + i % 50,
               prefix=f"10.{i % 4}.0.0/16" if i % 5 else None, id=f"big-{i:04d}")
    t.ports["vm-b"]["security_groups"] = ["big"]
    snapshot = t.snapshot()
    for port in (1, 38, 75, 1000, 30000, 59999):
        query = _ingress(destination_port=port)
        assert _ids(sg_test(snapshot, query)) == _reference_ids(snapshot, query)
