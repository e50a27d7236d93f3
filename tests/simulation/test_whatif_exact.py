"""What-if answers equal a brute-force comparison of every visible pair, before and after.

The oracle ignores the scoping entirely: it applies the same changes to its own fork, compiles
both states from scratch, and compares ``reachability()``'s exact allowed set (or the full
``matrix()`` for one service) for every pair of endpoints the caller can see. The what-if must
report exactly the differences — no fewer (scoping never misses a pair) and no more.
"""

from __future__ import annotations

import pytest
from sim_helpers import REACHABLE

from xloudnet.analysis.matrix import matrix
from xloudnet.analysis.reachability import reachability
from xloudnet.model.protocols import protocol_name
from xloudnet.control.changes import apply_changes
from xloudnet.dataplane import compile_tables

PORT_PROTOCOLS = {"tcp", "udp", "sctp", "dccp", "udplite"}


def _spans(entry: dict) -> list[tuple[int, int]]:
    if "port_ranges" in entry:
        return [tuple(r) for r in entry["port_ranges"]]
    if "icmp_types" in entry:
        spans = [(lo << 8, hi << 8 | 0xFF) for lo, hi in entry["icmp_types"]]
        for kind, codes in entry.get("icmp_codes", {}).items():
            spans += [(int(kind) << 8 | lo, int(kind) << 8 | hi) for lo, hi in codes]
        return spans
    return [(0, 0xFFFF)]


def _points(allowed: list[dict]) -> dict:
    """An allowed set as {protocol name: set of covered spans, flattened to a canonical list}."""
    out: dict = {}
    for entry in allowed:
        if entry["protocol"] == "any":
            return {protocol_name(p): [(0, 0xFFFF)] for p in range(1, 256)}
        out.setdefault(entry["protocol"], []).extend(_spans(entry))
    return {k: _merge(v) for k, v in out.items()}


def _merge(spans):
    out = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _minus(a: list, b: list) -> list:
    """Spans of ``a`` not in ``b``."""
    out = []
    for lo, hi in a:
        start = lo
        for blo, bhi in b:
            if bhi < start or blo > hi:
                continue
            if blo > start:
                out.append((start, blo - 1))
            start = max(start, bhi + 1)
        if start <= hi:
            out.append((start, hi))
    return out


def _expected_exact(plane, ctx, changes, ends):
    fork = apply_changes(plane, ctx, changes)
    before, after = compile_tables(plane.snapshot()), compile_tables(fork.plane.snapshot())
    gained, lost = {}, {}
    for s in ends:
        for d in ends:
            query = {"source": {"port_id": s}, "destination": {"port_id": d}}
            was = _points(reachability(before, query)["allowed"])
            now = _points(reachability(after, query)["allowed"])
            for proto in set(was) | set(now):
                plus, minus = _minus(now.get(proto, []), was.get(proto, [])), _minus(was.get(proto, []), now.get(proto, []))
                if plus:
                    gained[(s, d, proto)] = _merge(plus)
                if minus:
                    lost[(s, d, proto)] = _merge(minus)
    return gained, lost


def _reported(items: list[dict]) -> dict:
    out: dict = {}
    for item in items:
        key = (item["source"]["port_id"], item["destination"]["port_id"], item["protocol"])
        out.setdefault(key, []).extend(_spans(item))
    return {k: _merge(v) for k, v in out.items()}


def _visible_ports(caller) -> list[str]:
    ports = caller.neutron("GET", "/ports").json()["ports"]
    return sorted(p["id"] for p in ports if not p["device_owner"].startswith("network:"))


def _context(plane, caller):
    app_identity = caller.http.app.state.identity
    return app_identity.validate(caller.token).to_context(None)


def _egress_rule(caller, group):
    rules = caller.neutron("GET", f"/security-group-rules?security_group_id={group}&direction=egress"
                                  "&ethertype=IPv4").json()["security_group_rules"]
    return rules[0]["id"]


def _scenarios(t, demo) -> dict:
    rule = "/v2.0/security-group-rules"

    def new_rule(group, **fields):
        body = {"security_group_id": group, "direction": "ingress", "ethertype": "IPv4", **fields}
        return {"method": "POST", "path": rule, "body": {"security_group_rule": body}}

    def port(pid, **fields):
        return {"method": "PUT", "path": f"/v2.0/ports/{pid}", "body": {"port": fields}}

    return {
        "delete_ingress_rule": [{"method": "DELETE", "path": f"{rule}/{t.rule_web_http}"}],
        "delete_remote_group_rule": [{"method": "DELETE", "path": f"{rule}/{t.rule_web_ssh}"}],
        "delete_egress_rule": [{"method": "DELETE", "path": f"{rule}/{_egress_rule(demo, t.sg_web)}"}],
        "add_prefix_rule": [new_rule(t.sg_web, protocol="udp", port_range_min=53, port_range_max=60,
                                     remote_ip_prefix="10.0.1.0/24")],
        "add_remote_group_rule": [new_rule(t.sg_bastion, protocol="tcp", port_range_min=1000,
                                           port_range_max=2000, remote_group_id=t.sg_web)],
        "add_icmp_type_rule": [new_rule(t.sg_web, protocol="icmp", port_range_min=8, port_range_max=0)],
        "add_egress_rule_with_prefix": [new_rule(t.sg_bastion, direction="egress", protocol="tcp",
                                                 port_range_min=5000, port_range_max=5001,
                                                 remote_ip_prefix="10.0.0.0/24")],
        "join_group": [port(t.web1, security_groups=[t.sg_web, t.sg_bastion])],
        "join_marker_group": [port(t.web1, security_groups=[t.sg_web, t.sg_tag])],
        "leave_groups": [port(t.web2, security_groups=[])],
        "admin_down": [port(t.bastion, admin_state_up=False)],
        "port_security_off": [port(t.web1, security_groups=[], port_security_enabled=False)],
        "address_pair": [port(t.web2, allowed_address_pairs=[{"ip_address": "10.0.0.0/24"}])],
        "rename_only": [port(t.web2, name="renamed"),
                        {"method": "PUT", "path": f"/v2.0/security-groups/{t.sg_web}",
                         "body": {"security_group": {"description": "x"}}}],
        "new_port_in_bastion": [{"method": "POST", "path": "/v2.0/ports", "body": {"port": {
            "network_id": t.net_b, "security_groups": [t.sg_bastion], "device_owner": "compute:nova"}}}],
        "remove_router_interface": [{"method": "PUT", "path": f"/v2.0/routers/{t.r1}/remove_router_interface",
                                     "body": {"subnet_id": t.sub_a}}],
        "disassociate_floating_ip": [{"method": "PUT", "path": f"/v2.0/floatingips/{t.fip_web2}",
                                      "body": {"floatingip": {"port_id": None}}}],
        "several_changes": [{"method": "DELETE", "path": f"{rule}/{t.rule_bastion_icmp}"},
                            new_rule(t.sg_web, protocol="tcp", port_range_min=443, port_range_max=443,
                                     remote_group_id=t.sg_bastion),
                            port(t.web1, security_groups=[t.sg_bastion])],
    }


SCENARIOS = ["delete_ingress_rule", "delete_remote_group_rule", "delete_egress_rule", "add_prefix_rule",
             "add_remote_group_rule", "add_icmp_type_rule", "add_egress_rule_with_prefix", "join_group", "join_marker_group",
             "leave_groups", "admin_down", "port_security_off", "address_pair", "rename_only",
             "new_port_in_bastion", "remove_router_interface", "disassociate_floating_ip", "several_changes"]


@pytest.mark.parametrize("who", ["admin", "demo"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_whatif_exact_sets_equal_brute_force_over_every_visible_pair(request, plane, topo, demo, name, who):
    caller = request.getfixturevalue(who)
    changes = _scenarios(topo, demo)[name]
    ends = _visible_ports(caller)
    gained, lost = _expected_exact(plane, _context(plane, demo), changes, ends)
    answer = caller.ask("/whatif", {"changes": changes})
    assert _reported(answer["newly_allowed"]) == gained
    assert _reported(answer["newly_blocked"]) == lost
    if name == "rename_only":
        assert answer["evaluated"]["flows"] == 0


@pytest.mark.parametrize("service", [{"protocol": "tcp", "destination_port": 22},
                                     {"protocol": "tcp", "destination_port": 80},
                                     {"protocol": "udp", "destination_port": 53},
                                     {"protocol": "icmp"}])
@pytest.mark.parametrize("name", SCENARIOS)
def test_whatif_one_service_equals_full_matrix_diff(plane, topo, admin, demo, name, service):
    changes = _scenarios(topo, demo)[name]
    fork = apply_changes(plane, _context(plane, demo), changes)
    ends = [{"port_id": p} for p in _visible_ports(admin)]
    query = dict(service, sources=ends, destinations=ends)
    was = matrix(compile_tables(plane.snapshot()), query)
    now = matrix(compile_tables(fork.plane.snapshot()), query)
    expected = {"newly_allowed": set(), "newly_blocked": set()}
    for i, s in enumerate(was["sources"]):
        for j, d in enumerate(was["destinations"]):
            if was["reachable"][i][j] != now["reachable"][i][j]:
                key = "newly_allowed" if now["reachable"][i][j] else "newly_blocked"
                expected[key].add((s, d, was["dispositions"][i][j], now["dispositions"][i][j]))
    answer = admin.ask("/whatif", dict(service, changes=changes))
    for key in expected:
        got = {(i["source"]["port_id"], i["destination"]["port_id"], i["before"], i["after"]) for i in answer[key]}
        assert got == expected[key]
        assert all(i["after"] in REACHABLE for i in answer["newly_allowed"])
