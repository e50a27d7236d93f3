"""What-if after one security-group rule change, at 10k ports / 1k groups / 10k rules.

The cloud is built THROUGH THE NEUTRON API (``NeutronAPI`` in-process, admin, quotas lifted) with
the shape of ``xloudnet.dataplane.synthetic``: 200 networks of 50 VMs, a router per 10 networks
(gateway on one external network), 20 % floating IPs, every VM in 1-3 of 1000 groups, ~10k rules
(port ranges, prefixes, remote groups, ICMP, UDP/53 and each group's two egress-any rules).

For each of N different rules (half deleted, half a new rule added to a random group), one
what-if through the analysis library's ``LivePlane`` is timed in three parts, median over the N:

- apply + fork: ``apply_changes`` (copy-on-write fork, the change through the API);
- incremental recompile: ``compile_tables(fork snapshot, previous=live tables)``;
- diff: scoping from ``Fork.touched`` + evaluating only the affected boxes, before and after.

Two questions: one service (the changed rule's own protocol/port, so the change matters), and
the exact allowed sets (no protocol). Baseline, measured in the same process: recompiling from
scratch + the full matrix of all pairs for one service (the full matrix is extrapolated from a
200-source slice: 100M pairs do not fit in memory as one batch), and for the exact question the
per-pair allowed sets (extrapolated from a sample of pairs). Target: incremental part <= 1 ms.

    python benchmarks/dataplane_whatif.py [--ports 10000] [--changes 24]
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import time

from xloudnet.analysis.matrix import matrix
from xloudnet.analysis.reachability import reachability
from xloudnet.analysis.live import LivePlane
from xloudnet.control.changes import ChangeRejected, apply_changes
from xloudnet.control.context import Context
from xloudnet.control.neutron import NeutronAPI, Request
from xloudnet.control.plane import ControlPlane
from xloudnet.control.resources.quotas import DEFAULTS
from xloudnet.dataplane import QueryError, compile_tables

CTX = Context.admin("p-bench")
RULES = "/v2.0/security-group-rules"


def call(api: NeutronAPI, method: str, path: str, body=None):
    return api.handle(CTX, Request(method=method, path=path, body=body)).body


def random_rule(rng: random.Random, gid: str, groups: list[str]) -> dict:
    """A rule like ``synthetic._rule`` (egress-any rules exist already: every group has them)."""
    rule = {"security_group_id": gid, "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp"}
    kind = rng.random() * 0.85
    if kind < 0.45:
        low = rng.randrange(1, 65000)
        bits = rng.choice((8, 16, 24))
        rule.update(port_range_min=low, port_range_max=min(65535, low + rng.choice((0, 0, 0, 10, 1000))),
                    remote_ip_prefix="10.0.0.0/8" if bits == 8 else f"10.{rng.randrange(256)}.0.0/{bits}")
    elif kind < 0.65:
        port = rng.choice((22, 80, 443, 5432, 8080))
        rule.update(port_range_min=port, port_range_max=port, remote_group_id=rng.choice(groups))
    elif kind < 0.75:
        rule.update(protocol="icmp", **({"port_range_min": 8} if rng.random() < 0.5 else {}))
    else:
        rule.update(protocol="udp", port_range_min=53, port_range_max=53, remote_ip_prefix="0.0.0.0/0")
    return rule


def build(ports: int, seed: int = 0) -> tuple[ControlPlane, list[str]]:
    """The cloud, through the API. Returns the plane and the group ids."""
    rng = random.Random(seed)
    counter = itertools.count(1)
    plane = ControlPlane(quotas={name: -1 for name in DEFAULTS},  # reproducible ids, reproducible picks
                         ids=lambda: f"{next(counter):08x}-0000-4000-8000-000000000000")
    api = NeutronAPI(plane)
    ext = call(api, "POST", "/v2.0/networks", {"network": {"name": "ext", "router:external": True}})["network"]
    call(api, "POST", "/v2.0/subnets", {"subnet": {"network_id": ext["id"], "cidr": "100.64.0.0/10",
                                                   "ip_version": 4, "gateway_ip": "100.64.0.1"}})
    groups = [g["id"] for g in call(api, "POST", "/v2.0/security-groups", {"security_groups": [
        {"name": f"sg-{g:05d}"} for g in range(ports // 10)]})["security_groups"]]
    rules = [random_rule(rng, groups[r % len(groups)], groups) for r in range(ports - 2 * len(groups))]
    per_group: dict = {}
    for rule in {tuple(sorted(r.items())): r for r in rules}.values():  # no duplicates (409)
        per_group.setdefault(rule["security_group_id"], []).append(rule)
    for bodies in per_group.values():  # a bulk create takes one group's rules
        call(api, "POST", RULES, {"security_group_rules": bodies})
    networks = ports // 50
    router = None
    vm_ports = []
    for n in range(networks):
        net = call(api, "POST", "/v2.0/networks", {"network": {"name": f"net-{n}"}})["network"]
        sub = call(api, "POST", "/v2.0/subnets", {"subnet": {"network_id": net["id"], "ip_version": 4,
                                                             "cidr": f"10.{n >> 8}.{n & 255}.0/24"}})["subnet"]
        if n % 10 == 0:
            router = call(api, "POST", "/v2.0/routers", {"router": {
                "name": f"r-{n // 10}", "external_gateway_info": {"network_id": ext["id"]}}})["router"]
        call(api, "PUT", f"/v2.0/routers/{router['id']}/add_router_interface", {"subnet_id": sub["id"]})
        bodies = [{"network_id": net["id"], "device_owner": "compute:nova", "device_id": f"vm-{n}-{k}",
                   "security_groups": rng.sample(groups, rng.choice((1, 1, 2, 3))),
                   **({"allowed_address_pairs": [{"ip_address": f"10.{n >> 8}.{n & 255}.{200 + k % 50}"}]}
                      if k % 7 == 0 else {})} for k in range(50)]
        vm_ports += call(api, "POST", "/v2.0/ports", {"ports": bodies})["ports"]
    for port in vm_ports:
        if rng.random() < 0.2:
            call(api, "POST", "/v2.0/floatingips", {"floatingip": {"floating_network_id": ext["id"],
                                                                   "port_id": port["id"]}})
    return plane, groups


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1e3:9.3f} ms" if values else "      n/a"


def service_of(rule: dict) -> dict:
    """The changed rule's own service: the what-if question that the change can answer."""
    proto = rule.get("protocol")
    if proto in ("tcp", "udp"):
        return {"protocol": proto, "destination_port": rule.get("port_range_min") or 22}
    if proto == "icmp":
        return {"protocol": "icmp"}
    return {"protocol": "tcp", "destination_port": 22}


def changes_to_time(plane: ControlPlane, groups: list[str], count: int, seed: int = 1) -> list[tuple]:
    rng = random.Random(seed)
    rules = sorted(plane.store.table("security_group_rules").keys())
    out = []
    for k in range(count):
        if k % 2 == 0:
            rid = rng.choice(rules)
            out.append(([{"method": "DELETE", "path": f"{RULES}/{rid}"}], plane.store.get("security_group_rules", rid)))
        else:
            while True:  # a rule the API accepts (not a duplicate of an existing one)
                rule = random_rule(rng, rng.choice(groups), groups)
                changes = [{"method": "POST", "path": RULES, "body": {"security_group_rule": rule}}]
                try:
                    apply_changes(plane, CTX, changes)
                    break
                except ChangeRejected:
                    continue
            out.append((changes, rule))
    return out


def time_whatifs(session: LivePlane, cases: list[tuple], exact: bool) -> dict:
    parts = {"apply+fork": [], "recompile": [], "diff": [], "refused": 0, "pairs": [], "items": []}
    for changes, rule in cases:
        t0 = time.perf_counter()
        fork = apply_changes(session.plane, CTX, changes, session.api)
        t1 = time.perf_counter()
        after = session.tables(fork.plane)
        t2 = time.perf_counter()
        try:
            answer = session.compare_fork(CTX, fork, {} if exact else service_of(rule), after)
        except QueryError:
            parts["refused"] += 1
            continue
        t3 = time.perf_counter()
        parts["apply+fork"].append(t1 - t0)
        parts["recompile"].append(t2 - t1)
        parts["diff"].append(t3 - t2)
        parts["pairs"].append(answer["evaluated"]["pairs"])
        parts["items"].append(len(answer["newly_allowed"]) + len(answer["newly_blocked"]))
    return parts


def baseline(session: LivePlane, ends: list[dict]) -> dict:
    snapshot = session.plane.snapshot()
    t0 = time.perf_counter()
    tables = compile_tables(snapshot)
    compile_s = time.perf_counter() - t0
    rows = ends[:: max(1, len(ends) // 200)][:200]
    t0 = time.perf_counter()
    matrix(tables, {"protocol": "tcp", "destination_port": 22, "sources": rows, "destinations": ends})
    matrix_s = (time.perf_counter() - t0) * len(ends) / len(rows)
    rng = random.Random(2)
    sample = [(rng.choice(ends), rng.choice(ends)) for _ in range(40)]
    t0 = time.perf_counter()
    for s, d in sample:
        reachability(tables, {"source": s, "destination": d})
    allowed_s = (time.perf_counter() - t0) / len(sample) * len(ends) ** 2
    return {"compile": compile_s, "matrix": matrix_s, "allowed": allowed_s}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=10000)
    parser.add_argument("--changes", type=int, default=24)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    plane, groups = build(args.ports)
    store = plane.store
    print(f"built through the API in {time.perf_counter() - t0:.1f} s: {len(store.table('ports')):,} ports "
          f"({args.ports:,} VMs), {len(store.table('security_groups')):,} groups, "
          f"{len(store.table('security_group_rules')):,} rules, {len(store.table('routers'))} routers, "
          f"{len(store.table('floatingips')):,} floating IPs")
    session = LivePlane(plane)
    t0 = time.perf_counter()
    session.tables(), session.end_index(), session.all_cuts()
    print(f"live tables + endpoint index (once per live revision): {time.perf_counter() - t0:.2f} s")
    ends = [{"port_id": pid} for pid in session.visible_ids(CTX)]
    base = baseline(session, ends)
    full_service = base["compile"] + 2 * base["matrix"]
    full_exact = base["compile"] + 2 * base["allowed"]
    print(f"baseline: compile from scratch {base['compile']:.2f} s; full matrix, one service, {len(ends):,}² pairs "
          f"{base['matrix']:.0f} s (extrapolated); exact allowed sets of every pair {base['allowed'] / 3600:.0f} h "
          "(extrapolated)")
    cases = changes_to_time(plane, groups, args.changes)
    for label, exact, full in (("one service (the rule's own)", False, full_service),
                               ("exact allowed sets", True, full_exact)):
        parts = time_whatifs(session, cases, exact)
        incremental = [a + b for a, b in zip(parts["apply+fork"], parts["recompile"])]
        total = [a + b for a, b in zip(incremental, parts["diff"])]
        print(f"\nwhat-if after one rule change, {label}: {len(total)} of {len(cases)} answered "
              f"({parts['refused']} over the evaluation budget)")
        print(f"  apply + fork            {median_ms(parts['apply+fork'])} median")
        print(f"  incremental recompile   {median_ms(parts['recompile'])} median")
        print(f"  diff (scope + evaluate) {median_ms(parts['diff'])} median, p90 "
              f"{sorted(parts['diff'])[int(0.9 * len(parts['diff']))] * 1e3 if parts['diff'] else 0:.1f} ms; "
              f"pairs evaluated median {statistics.median(parts['pairs']) if parts['pairs'] else 0:,.0f} "
              f"of {len(ends) ** 2:,}; items median {statistics.median(parts['items']) if parts['items'] else 0:.0f}")
        if total:
            print(f"  total                   {median_ms(total)} median; baseline (recompile + 2 full "
                  f"{'matrices' if not exact else 'allowed-set sweeps'}) {full:,.0f} s -> ratio "
                  f"{full / statistics.median(total):,.0f}x")
            print(f"  target <= 1 ms for the incremental part (apply+fork+recompile): "
                  f"{'met' if statistics.median(incremental) <= 1e-3 else 'NOT met'} "
                  f"({median_ms(incremental).strip()}); the diff is "
                  f"{'within' if statistics.median(parts['diff']) <= 1e-3 else 'NOT within'} 1 ms")


if __name__ == "__main__":
    main()
