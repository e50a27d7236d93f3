"""Compiled tables: tries, the security-group classifier, and incremental compiles."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st
from topologies import base, flows, topologies

from xloudnet.dataplane import QueryError, compile_tables, evaluate_flows
from xloudnet.dataplane import groups as sg
from xloudnet.dataplane import trie
from xloudnet.dataplane import topology as topo
from xloudnet.dataplane.tables import GROUPS, GroupDirColumns
from xloudnet.dataplane.synthetic import change_one_route, change_one_rule, synthetic_snapshot

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 70000)), max_size=30),
       st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=50))
@settings(max_examples=60, deadline=None)
def test_trie_lookup_equals_first_covering_range(spans, keys):
    top = 2**32 - 1
    ranges = [(a, min(top, a + w), i) for i, (a, w) in enumerate(spans)]
    starts, values = trie.paint(ranges, -1, top)
    arena = trie.Arena(np.int32)
    root = trie.place_trie(arena, starts, values, (8, 8, 8, 8))
    keys = keys + [r[0] for r in ranges] + [r[1] for r in ranges]
    lo = np.array(keys, dtype=np.uint64)
    got = trie.lookup(arena.view(), np.full(len(keys), root), (lo, lo), trie.V4_LEVELS)
    want = [next((i for a, b, i in ranges if a <= k <= b), -1) for k in keys]
    assert got.tolist() == want


def _naive(rule, v6, proto, value, remote):
    """One rule against (family, protocol, service value, remote address) — no remote groups."""
    if sg.rule_v6(rule) != v6:
        return False
    spans = sg.service_ranges(rule)
    key = int(v6) << 24 | proto << 16 | value
    area = sg.remote_range(rule)
    return area is not None and any(a <= key <= b for a, b in spans) and area[0] <= remote <= area[1]


@given(st.data())
@settings(max_examples=40, deadline=None)
def test_group_classifier_equals_naive_rule_loop(data):
    protos = st.sampled_from([None, "tcp", "udp", "icmp", "6", "17", "1", "gre", "0", "any"])
    port = st.one_of(st.none(), st.integers(0, 300))
    rule = st.fixed_dictionaries({
        "protocol": protos, "port_range_min": port, "port_range_max": port,
        "remote_ip_prefix": st.sampled_from([None, "0.0.0.0/0", "10.0.0.0/8", "10.1.2.0/24", "10.1.2.3/32"]),
        "ethertype": st.just("IPv4"), "direction": st.just("ingress")})
    rules = data.draw(st.lists(rule, max_size=12))
    for i, r in enumerate(rules):
        r["id"] = f"r{i:02d}"
    nodes, cells = trie.Arena(np.int32), trie.Arena(np.int32, first=-1)
    gdir = sg.compile_groupdir(rules, nodes, cells)

    class Tables:  # the columns ``decide`` reads, for one group-direction in row 0
        pass
    tb = Tables()
    tb.nodes, tb.cells, tb.refs, tb.limits = nodes.view(), cells.view(), np.zeros(1, np.int32), np.zeros(1, np.uint64)
    tb.gd = GroupDirColumns(**{name: np.array([value], dtype=np.int64) for name, value in (
        ("svc", gdir.svc_root), ("a4", gdir.addr_roots[0]), ("a6", gdir.addr_roots[1]),
        ("n4", gdir.sizes[0]), ("n6", gdir.sizes[1]), ("t4", gdir.t_bases[0]),
        ("t6", gdir.t_bases[1]), ("u", gdir.u_base), ("nref", 0), ("refs", 0), ("lim", -1))})
    packets = data.draw(st.lists(st.tuples(st.sampled_from([1, 6, 17, 47]), st.integers(0, 300),
                                           st.sampled_from([0x0A010203, 0x0A010204, 0x0B000001])), min_size=1, max_size=40))
    proto = np.array([p[0] for p in packets], dtype=np.int64)
    value = np.array([p[1] if p[0] in (6, 17) else (p[1] & 0xFF) << 8 | p[1] >> 8 & 0xFF if p[0] == 1 else 0
                      for p in packets], dtype=np.int64)
    remote = np.array([p[2] for p in packets], dtype=np.uint64)
    svc = ((proto << 16) | value).astype(np.uint64)
    got = sg.decide(tb, np.zeros(len(packets), np.int64), np.zeros(len(packets), bool), svc,
                    np.zeros(len(packets), np.uint64), remote)
    for k, (p, _v, r) in enumerate(packets):
        want = next((i for i, rule in enumerate(rules) if _naive(rule, False, p, int(value[k]), r)), -1)
        assert got[k] == want, (packets[k], rules)


def _replace(t, coll, rid, **attrs):
    records = getattr(t, coll)
    records[rid] = {**records[rid], **attrs, "revision_number": records[rid].get("revision_number", 1) + 1}


def _mutate(t, rng):
    """One random change, made the way the control plane makes it: a new record."""
    if t.address_groups and rng.random() < 0.2:
        _mutate_address_group(t, rng)
        return
    choice = rng.randrange(8)
    if choice == 0 and t.security_group_rules:
        rid = rng.choice(sorted(t.security_group_rules))
        if rng.random() < 0.5:
            del t.security_group_rules[rid]
        else:
            _replace(t, "security_group_rules", rid, protocol="tcp", port_range_min=22, port_range_max=22)
    elif choice == 1 and t.ports:
        pid = rng.choice(sorted(t.ports))
        _replace(t, "ports", pid, admin_state_up=rng.random() < 0.5,
                 security_groups=rng.sample(sorted(t.security_groups), min(1, len(t.security_groups))))
    elif choice == 2 and t.routers:
        rid = rng.choice(sorted(t.routers))
        _replace(t, "routers", rid, routes=[], admin_state_up=rng.random() < 0.7)
    elif choice == 3 and t.floatingips:
        fid = rng.choice(sorted(t.floatingips))
        _replace(t, "floatingips", fid, port_id=None, fixed_ip_address=None, router_id=None)
    elif choice == 4 and t.subnets:
        sid = rng.choice(sorted(t.subnets))
        _replace(t, "subnets", sid, gateway_ip=None)
    elif choice == 6 and t.subnetpools:  # a pool changes scope: every subnet from it does
        pid = rng.choice(sorted(t.subnetpools))
        _replace(t, "subnetpools", pid, address_scope_id=rng.choice(("blue4", "red4", "blue6", None)))
    elif choice == 7 and t.networks:  # a network's subnets move into a scope (or out of pools)
        net = rng.choice(sorted(t.networks))
        scope = rng.choice(("blue4", "red4", None))
        for sid in t.networks[net]["subnets"]:
            if rng.random() < 0.5:
                _replace(t, "subnets", sid, subnetpool_id=None)
            else:
                _replace(t, "subnets", sid, subnetpool_id=t.pool_for(scope, t.subnets[sid]["ip_version"]))
    elif t.security_groups:
        gid = rng.choice(sorted(t.security_groups))
        _replace(t, "security_groups", gid, stateful=rng.random() < 0.5)


def _mutate_address_group(t, rng):
    """An address group's addresses change (add_addresses / remove_addresses) or it goes."""
    from topologies import AG_ADDRESSES
    agid = rng.choice(sorted(t.address_groups))
    if rng.random() < 0.15:
        del t.address_groups[agid]
        return
    _replace(t, "address_groups", agid, addresses=rng.sample(AG_ADDRESSES, rng.randrange(0, 4)))


@SETTINGS
@given(st.data())
def test_incremental_compile_equals_fresh_compile(data):
    t = data.draw(topologies())
    rng = random.Random(data.draw(st.integers(0, 2**16)))
    tables = compile_tables(t.snapshot())
    for _round in range(3):
        for _ in range(rng.randrange(1, 4)):
            _mutate(t, rng)
        snap = t.snapshot()
        tables = compile_tables(snap, tables)
        fresh = compile_tables(snap)
        for _ in range(6):
            q = data.draw(flows(t))
            try:
                want = evaluate_flows(fresh, [q])
            except QueryError:
                continue
            assert evaluate_flows(tables, [q]) == want, q


def test_one_rule_change_rebuilds_one_group_only():
    snap = synthetic_snapshot(ports=300, groups=30, rules=300, seed=3)
    tables = compile_tables(snap)
    after = compile_tables(change_one_rule(snap, 1), tables)
    assert after.stats["rebuilt"] == {"grp": 1, "gd": 1}
    assert after.port.net is tables.port.net  # unchanged columns are shared, not copied
    assert after.rt.main4 is tables.rt.main4


def test_one_route_change_rebuilds_one_router_only():
    snap = synthetic_snapshot(ports=300, groups=30, rules=300, seed=3)
    tables = compile_tables(snap)
    after = compile_tables(change_one_route(snap, 1), tables)
    assert after.stats["rebuilt"] == {"rt": 1}
    assert after.gd.svc is tables.gd.svc


def test_address_group_change_rebuilds_only_the_groups_whose_rules_name_it():
    t = base()
    t.address_group("ag", "10.0.9.0/24")
    t.rule("sg-web", "ingress", protocol="tcp", port_min=22, port_max=22, address_group="ag", id="web-ssh")
    q = {"source": {"port_id": "vm-a"}, "destination": {"port_id": "vm-b"}, "protocol": "tcp", "destination_port": 22}
    before = compile_tables(t.snapshot())
    assert evaluate_flows(before, [q])[0]["disposition"] == "DENIED_INGRESS"
    _replace(t, "address_groups", "ag", addresses=["10.0.9.0/24", "10.0.1.0/24"])
    after = compile_tables(t.snapshot(), before)
    assert after.stats["rebuilt"] == {"grp": 1, "gd": 1}
    assert evaluate_flows(after, [q])[0]["disposition"] == "ACCEPTED"
    assert evaluate_flows(before, [q])[0]["disposition"] == "DENIED_INGRESS"
def test_a_pool_changing_scope_recompiles_the_networks_and_routers_it_feeds():
    t = base()
    t.scope("s-a", "blue")
    t.scope("s-b", "red")
    q = {"source": {"port_id": "vm-a"}, "destination": {"port_id": "vm-b"}, "protocol": "icmp"}
    inbound = {"source": {"ip_address": "198.51.100.7"}, "destination": {"port_id": "vm-b"}, "protocol": "icmp"}
    before = compile_tables(t.snapshot())
    assert [r["disposition"] for r in evaluate_flows(before, [q, inbound])] == ["NO_ROUTE", "NO_ROUTE"]
    # The pool of red joins blue, and so does the external subnet: one scope everywhere.
    _replace(t, "subnetpools", "pool-red-v4", address_scope_id="blue")
    _replace(t, "subnets", "s-ext", subnetpool_id=t.pool_for("blue", 4))
    after = compile_tables(t.snapshot(), before)
    assert [r["disposition"] for r in evaluate_flows(after, [q, inbound])] == ["ACCEPTED", "ACCEPTED"]
    assert evaluate_flows(after, [q, inbound]) == evaluate_flows(compile_tables(t.snapshot()), [q, inbound])
    assert after.stats["rebuilt"]["net"] >= 2 and after.stats["rebuilt"]["rt"] == 1


def test_previous_tables_stay_valid_after_a_later_compile():
    t = base()
    before = compile_tables(t.snapshot())
    q = {"source": {"port_id": "vm-a"}, "destination": {"port_id": "vm-b"}, "protocol": "tcp", "destination_port": 22}
    assert evaluate_flows(before, [q])[0]["disposition"] == "DENIED_INGRESS"
    t.rule("sg-web", "ingress", protocol="tcp", port_min=22, port_max=22, id="web-ssh")
    after = compile_tables(t.snapshot(), before)
    other = compile_tables(t.snapshot(), before)  # a second fork of the same base
    assert evaluate_flows(after, [q])[0]["disposition"] == "ACCEPTED"
    assert evaluate_flows(other, [q])[0]["disposition"] == "ACCEPTED"
    assert evaluate_flows(before, [q])[0]["disposition"] == "DENIED_INGRESS"


def test_synthetic_snapshot_is_deterministic():
    a, b = synthetic_snapshot(ports=120, seed=7), synthetic_snapshot(ports=120, seed=7)
    assert a.ports == b.ports and a.security_group_rules == b.security_group_rules


def _random_packets(rng, t, n: int):
    """Packets towards the interesting addresses of ``t`` (members, prefixes, strangers)."""
    import ipaddress
    addrs = sorted({f["ip_address"] for p in t.ports.values() for f in p["fixed_ips"]}
                   | {"10.0.1.10", "10.0.2.1", "203.0.113.9", "198.51.100.7", "8.8.8.8", "fd00:1::5",
                      "2001:db8::1", "fd00:2::9"})
    picked = [ipaddress.ip_address(rng.choice(addrs)) for _ in range(n)]
    v6 = np.array([a.version == 6 for a in picked])
    hi = np.array([int(a) >> 64 for a in picked], dtype=np.uint64)
    lo = np.array([int(a) & (2**64 - 1) for a in picked], dtype=np.uint64)
    proto = np.array([rng.choice((1, 6, 6, 17, 47, 58, 132)) for _ in range(n)], dtype=np.int64)
    value = np.array([rng.choice((0, 22, 80, 443, 8080, 0x0800, 0x8000, 0x0301, 0x0D00))
                      for _ in range(n)], dtype=np.int64)
    value = np.where((proto == 47), 0, value)
    svc = ((v6.astype(np.int64) << 24) | (proto << 16) | value).astype(np.uint64)
    return v6, svc, hi, lo


@SETTINGS
@given(st.data())
def test_merged_classifier_equals_per_group_path(data):
    """The merged group-set classifier decides exactly like the per-group path (same rule)."""
    t = data.draw(topologies())
    tables = compile_tables(t.snapshot())
    rng = random.Random(data.draw(st.integers(0, 2**16)))
    filtered = np.flatnonzero(tables.port.filtered)
    if not len(filtered):
        return
    port = np.array([rng.choice(filtered.tolist()) for _ in range(300)], dtype=np.int64)
    v6, svc, hi, lo = _random_packets(rng, t, len(port))
    for direction in (sg.EGRESS, sg.INGRESS):
        merged = sg.port_verdict(tables, port, direction, v6, svc, hi, lo, hot=1)
        by_group = sg.port_verdict(tables, port, direction, v6, svc, hi, lo, hot=10**9)
        for got, want in zip(merged, by_group):
            assert got.tolist() == want.tolist()
        one = np.full(len(port), port[0])  # the single-port fast path
        merged = sg.port_verdict(tables, one, direction, v6, svc, hi, lo, hot=1)
        by_group = sg.port_verdict(tables, one, direction, v6, svc, hi, lo, hot=10**9)
        for got, want in zip(merged, by_group):
            assert got.tolist() == want.tolist()


def test_merged_classifier_is_reused_across_recompiles():
    """A recompile that leaves a group set's pieces alone reuses its merged classifier; one
    that changes a rule of the set builds a new one (and the old tables keep theirs)."""
    t = base()
    tables = compile_tables(t.snapshot())
    port = tables.port_slot("vm-b")
    first = sg.classifier.merged_for(tables, port, sg.INGRESS)
    t.network("n-other")
    again = compile_tables(t.snapshot(), tables)
    assert sg.classifier.merged_for(again, port, sg.INGRESS) is first
    t.rule("sg-web", "ingress", protocol="tcp", port_min=22, port_max=22, id="web-ssh")
    changed = compile_tables(t.snapshot(), again)
    assert sg.classifier.merged_for(changed, port, sg.INGRESS) is not first
    assert sg.classifier.merged_for(tables, port, sg.INGRESS) is first


@SETTINGS
@given(st.data())
def test_engine_with_merged_classifiers_agrees_with_reference(data):
    """Every security-group decision through merged classifiers: still engine == reference."""
    import test_equivalence
    t = data.draw(topologies())
    snapshot = t.snapshot()
    tables = compile_tables(snapshot)
    saved, sg.HOT = sg.HOT, 1
    try:
        for _ in range(4):
            test_equivalence._compare(snapshot, tables, data.draw(flows(t)))
    finally:
        sg.HOT = saved


def test_recompile_with_the_changed_ids_equals_a_full_diff():
    """``changed`` (a fork's touched pairs) gives the same tables as diffing everything; a
    hint that misses an added record is caught by the count check."""
    snap = synthetic_snapshot(ports=300, groups=30, rules=300, seed=3)
    tables = compile_tables(snap)
    after = change_one_rule(snap, 1)
    rid = next(k for k in after.security_group_rules if after.security_group_rules[k]
               is not snap.security_group_rules[k])
    hinted = compile_tables(after, tables, changed={("security_group_rules", rid), ("qos_rules", "x")})
    assert hinted.stats == compile_tables(after, tables).stats
    from dataclasses import replace
    from types import MappingProxyType
    rules = dict(after.security_group_rules)
    rules["rule-new"] = {**rules[rid], "id": "rule-new"}
    grown = replace(after, security_group_rules=MappingProxyType(rules))
    missed = compile_tables(grown, tables, changed={("security_group_rules", rid)})
    assert missed.stats["changed"]["security_group_rules"] == 2  # fell back to the full diff


def test_flow_tables_column_groups_are_the_declared_types_with_their_dtypes():
    tables = compile_tables(synthetic_snapshot(ports=50, groups=5, rules=50, seed=0))
    for family, cls in GROUPS.items():
        group = getattr(tables, family)
        assert type(group) is cls
        for spec in dataclasses.fields(cls):
            if "spec" in spec.metadata:
                column = getattr(group, spec.name)
                assert column.dtype == spec.metadata["spec"][0]
                assert column.ndim == (2 if spec.metadata["spec"][2] else 1)
    assert set(tables.entry.__slots__) == set(topo.ENTRY_DTYPE.names)
    assert not hasattr(tables, "port_net")  # no flat attributes made up at run time
