"""Traces, allowed sets and the matrix agree with the vectorised batch verdicts."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings, strategies as st
from topologies import base, flows, query, topologies

from xloudnet.analysis.matrix import matrix
from xloudnet.analysis.reachability import reachability
from xloudnet.dataplane import QueryError, compile_tables, evaluate_flows
from xloudnet.dataplane.pairs import endpoint_ports
from xloudnet.model.protocols import ICMP_PROTOCOLS, PORT_PROTOCOLS, PROTOCOL_NUMBERS

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(st.data())
def test_trace_verdict_equals_batch_verdict(data):
    t = data.draw(topologies())
    tables = compile_tables(t.snapshot())
    qs = [data.draw(flows(t)) for _ in range(6)]
    for q in qs:
        try:
            batch = evaluate_flows(tables, [q])[0]
        except QueryError:
            continue
        explained = reachability(tables, q)
        assert explained["disposition"] == batch["disposition"]
        assert (explained["return"] or {}).get("disposition") == batch["return_disposition"]
        assert explained["hops"], "a trace has hops"


def _allows(allowed: list, proto: int, value: int | None, v6: bool) -> bool:
    for entry in allowed:
        name = entry["protocol"]
        if name == "any":
            return True
        number = int(name) if name.isdigit() else PROTOCOL_NUMBERS[name]
        if number == 1 and v6:
            number = 58
        if number != proto:
            continue
        if proto in PORT_PROTOCOLS:
            return any(lo <= value <= hi for lo, hi in entry["port_ranges"])
        if proto in ICMP_PROTOCOLS:
            kind, code = value >> 8, value & 0xFF
            if any(lo <= kind <= hi for lo, hi in entry["icmp_types"]):
                return True
            return any(lo <= code <= hi for lo, hi in entry.get("icmp_codes", {}).get(str(kind), []))
        return True
    return False


def _probe(proto: int, value: int) -> dict:
    if proto in PORT_PROTOCOLS:
        return {"protocol": proto, "destination_port": value}
    if proto in ICMP_PROTOCOLS:
        return {"protocol": proto, "icmp_type": value >> 8, "icmp_code": value & 0xFF}
    return {"protocol": proto}


@SETTINGS
@given(st.data())
def test_allowed_set_is_exact(data):
    t = data.draw(topologies())
    tables = compile_tables(t.snapshot())
    q = data.draw(flows(t))
    free = {k: v for k, v in q.items() if k not in ("protocol", "destination_port", "icmp_type", "icmp_code")}
    try:
        answer = reachability(tables, free)
    except QueryError:
        return
    v6 = answer["flow"]["ethertype"] == "IPv6"
    rng = random.Random(data.draw(st.integers(0, 2**16)))
    icmp = 58 if v6 else 1
    probes = [(6, v) for v in (0, 22, 80, 443, 8080, 65535)] + [(17, 53), (icmp, 8 << 8), (icmp, 3 << 8 | 1),
                                                                 (icmp, (128 << 8)), (47, 0), (132, 80)]
    probes += [(6, rng.randrange(65536)) for _ in range(6)]
    for proto, value in probes:
        got = evaluate_flows(tables, [{**free, **_probe(proto, value)}])[0]["reachable"]
        assert got == _allows(answer["allowed"], proto, value, v6), (proto, value, answer["allowed"])


def test_allowed_set_of_web_server():
    tables = compile_tables(base().snapshot())
    answer = reachability(tables, {"source": {"port_id": "vm-a"}, "destination": {"port_id": "vm-b"}})
    assert answer["allowed"] == [{"protocol": "tcp", "port_ranges": [[80, 80]]},
                                 {"protocol": "icmp", "icmp_types": [[0, 255]]}]
    assert answer["flow"]["protocol"] == 6 and answer["flow"]["destination_port"] == 80


def test_allowed_set_for_tcp_without_port():
    tables = compile_tables(base().snapshot())
    answer = reachability(tables, {"source": {"port_id": "vm-a"}, "destination": {"port_id": "vm-b"}, "protocol": "tcp"})
    assert answer["allowed"] == [{"protocol": "tcp", "port_ranges": [[80, 80]]}]


def test_allowed_any_between_open_ports():
    tables = compile_tables(base().snapshot())
    answer = reachability(tables, {"source": {"port_id": "vm-b"}, "destination": {"port_id": "vm-a"}})
    assert answer["allowed"] == [{"protocol": "any"}]


def test_router_address_allows_echo_only():
    tables = compile_tables(base().snapshot())
    answer = reachability(tables, {"source": {"port_id": "vm-a"}, "destination": {"ip_address": "10.0.1.1"}})
    assert answer["allowed"][0] == {"protocol": "icmp", "icmp_types": [[8, 8]]}
    assert all(entry.get("icmp_types") == [[8, 8]] for entry in answer["allowed"])


def test_trace_names_deciding_entries():
    tables = compile_tables(base().snapshot())
    answer = reachability(tables, query("vm-a", "vm-b", destination_port=22))
    assert answer["hops"][-1] == {"node": "port:vm-b", "stage": "ingress-security-group", "action": "DENY",
                                  "reason": "no rule matched (default deny)"}
    assert answer["return"] is None
    ok = reachability(tables, query("vm-a", "vm-b"))
    stages = [h["stage"] for h in ok["hops"]]
    assert stages == ["enter", "anti-spoofing", "egress-security-group", "forward", "enter", "route", "enter",
                      "ingress-security-group", "deliver"]
    assert ok["hops"][2]["rule_id"] == "sg-open-r2" and ok["hops"][7]["rule_id"] == "web-http"
    assert ok["hops"][5]["route"] == {"destination": "10.0.2.0/24", "nexthop": None}
    assert any(h.get("conntrack") == "established" for h in ok["return"]["hops"])


@SETTINGS
@given(st.data())
def test_matrix_equals_single_flows(data):
    t = data.draw(topologies())
    tables = compile_tables(t.snapshot())
    proto = data.draw(st.sampled_from([{"protocol": "tcp", "destination_port": 22}, {"protocol": "icmp"},
                                       {"protocol": "udp", "destination_port": 53}]))
    answer = matrix(tables, proto)
    ports = endpoint_ports(tables)
    assert answer["sources"] == ports and answer["destinations"] == ports
    for i, src in enumerate(ports):
        for j, dst in enumerate(ports):
            q = {"source": {"port_id": src}, "destination": {"port_id": dst}, **proto}
            try:
                single = evaluate_flows(tables, [q])[0]["disposition"]
            except QueryError:
                single = "NO_ROUTE"
            assert answer["dispositions"][i][j] == single, (src, dst)


def _with_qos(t, policies: dict):
    """The topology's snapshot with these QoS policies (id → rules)."""
    from dataclasses import replace
    from types import MappingProxyType
    records = {pid: {"id": pid, "rules": rules, "shared": False, "is_default": False}
               for pid, rules in policies.items()}
    return replace(t.snapshot(), qos_policies=MappingProxyType(records))


def _stages(hops):
    return [h["stage"] for h in hops]


def test_trace_shows_qos_stages_after_the_security_groups():
    """qos-egress follows egress-security-group (port policy first), qos-ingress follows
    ingress-security-group (here the network's policy); both PERMIT, with what applies."""
    t = base()
    t.ports["vm-a"]["qos_policy_id"] = "q-port"
    t.networks["n-a"]["qos_policy_id"] = "q-net-a"  # overridden by the port's own policy
    t.networks["n-b"]["qos_policy_id"] = "q-net-b"
    snap = _with_qos(t, {
        "q-port": [{"id": "dscp", "type": "dscp_marking", "dscp_mark": 26},
                   {"id": "bw", "type": "bandwidth_limit", "max_kbps": 1000, "max_burst_kbps": 0,
                    "direction": "egress"},
                   {"id": "pps-in", "type": "packet_rate_limit", "max_kpps": 5, "max_burst_kpps": 1,
                    "direction": "ingress"}],
        "q-net-a": [{"id": "never", "type": "dscp_marking", "dscp_mark": 46}],
        "q-net-b": [{"id": "shape", "type": "bandwidth_limit", "max_kbps": 2000, "max_burst_kbps": 100,
                     "direction": "ingress"},
                    {"id": "min", "type": "minimum_bandwidth", "min_kbps": 10, "direction": "egress"}]})
    answer = reachability(compile_tables(snap), query("vm-a", "vm-b", "tcp", destination_port=80))
    assert answer["disposition"] == "ACCEPTED"
    stages = _stages(answer["hops"])
    assert stages.index("qos-egress") == stages.index("egress-security-group") + 1
    assert stages.index("qos-ingress") == stages.index("ingress-security-group") + 1
    egress = answer["hops"][stages.index("qos-egress")]
    assert egress == {"node": "port:vm-a", "stage": "qos-egress", "action": "PERMIT", "qos": {
        "policy_id": "q-port", "dscp_mark": 26,
        "bandwidth_limit": {"rule_id": "bw", "max_kbps": 1000, "max_burst_kbps": 0}}}
    ingress = answer["hops"][stages.index("qos-ingress")]
    assert ingress["node"] == "port:vm-b" and ingress["action"] == "PERMIT"
    assert ingress["qos"] == {"policy_id": "q-net-b", "bandwidth_limit": {
        "rule_id": "shape", "max_kbps": 2000, "max_burst_kbps": 100}}
    back = _stages(answer["return"]["hops"])  # the reply: vm-b's egress minimum, vm-a's ingress pps
    assert back.count("qos-egress") == 1 and back.count("qos-ingress") == 1
    assert back.index("qos-ingress") > back.index("qos-egress")


def test_trace_has_no_qos_stage_without_a_policy_in_that_direction():
    t = base()
    t.ports["vm-a"]["qos_policy_id"] = "q-in"
    snap = _with_qos(t, {"q-in": [{"id": "in", "type": "bandwidth_limit", "max_kbps": 10,
                                   "max_burst_kbps": 0, "direction": "ingress"}]})
    answer = reachability(compile_tables(snap), query("vm-a", "vm-b", "tcp", destination_port=80))
    assert "qos-egress" not in _stages(answer["hops"])
    assert "qos-ingress" not in _stages(answer["hops"])
    refused = reachability(compile_tables(snap), query("vm-a", "vm-b", "tcp", destination_port=22))
    assert refused["disposition"] == "DENIED_INGRESS" and "qos-ingress" not in _stages(refused["hops"])
