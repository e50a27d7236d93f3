"""Address groups in the data plane: compile, incremental recompile after ``add_addresses``,
and decisions, each against a baseline measured in the same process.

The cloud is the synthetic 10k ports / 1k groups / 10k rules one; 2,000 of its ingress prefix
rules are rewritten to name one of 200 address groups of 8 CIDRs each. Baseline: the same cloud
with every such rule written out as 8 plain prefix rules (what the engine compiles it to). The
figures: full compile (ratio address groups / written out), the recompile after one group gains
an address with ``previous`` given (median, ratio to the full compile), and a batch of 5,000
flows decided on both (ratio; the verdicts must be equal). ``--quick``: 1k ports.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from types import MappingProxyType
from dataclasses import replace

from xloudnet.dataplane import compile_tables, evaluate_flows
from xloudnet.dataplane.synthetic import synthetic_snapshot

GROUPS, SIZE = 200, 8


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def with_address_groups(snap, rng: random.Random, count: int):
    """(snapshot with ``count`` rules naming address groups, the same written out as prefixes)."""
    groups = {f"ag-{g:04d}": {"id": f"ag-{g:04d}", "project_id": "p-synth", "revision_number": 1,
                              "addresses": sorted({f"10.{rng.randrange(256)}.{rng.randrange(256)}.0/{rng.choice((24, 28, 32))}"
                                                   for _ in range(SIZE)})}
              for g in range(GROUPS)}
    named, written = dict(snap.security_group_rules), dict(snap.security_group_rules)
    chosen = [r for r in sorted(named) if named[r].get("remote_ip_prefix") and named[r]["direction"] == "ingress"][:count]
    for rid in chosen:
        agid = rng.choice(sorted(groups))
        named[rid] = {**named[rid], "remote_ip_prefix": None, "remote_address_group_id": agid}
        del written[rid]
        for k, cidr in enumerate(groups[agid]["addresses"]):
            written[f"{rid}-{k}"] = {**named[rid], "id": f"{rid}-{k}", "remote_ip_prefix": cidr,
                                     "remote_address_group_id": None}
    ag_snap = replace(snap, security_group_rules=MappingProxyType(named), address_groups=MappingProxyType(groups))
    return ag_snap, replace(snap, security_group_rules=MappingProxyType(written)), len(chosen)


def add_address(snap, named: list[str], k: int):
    """``snap`` with one address group (one that rules name) one address larger (every other
    record shared)."""
    agid = named[k % len(named)]
    record = snap.address_groups[agid]
    new = {**record, "addresses": record["addresses"] + [f"192.168.{k % 256}.0/24"],
           "revision_number": record["revision_number"] + 1}
    return replace(snap, address_groups=MappingProxyType({**snap.address_groups, agid: new}), revision=snap.revision + 1)


def flows(snap, rng: random.Random, n: int) -> list[dict]:
    ports = sorted(p for p, rec in snap.ports.items() if not (rec.get("device_owner") or "").startswith("network:"))
    return [{"source": {"port_id": rng.choice(ports)}, "destination": {"port_id": rng.choice(ports)},
             "protocol": "tcp", "destination_port": rng.choice((22, 80, 443, 5432, 8080, rng.randrange(1, 65535)))}
            for _ in range(n)]


def main(argv=None) -> None:
    argv = argv or []
    ports = 1000 if "--quick" in argv else 10000
    rng = random.Random(0)
    snap = synthetic_snapshot(ports=ports, groups=ports // 10, rules=ports, seed=0)
    ag_snap, written, count = with_address_groups(snap, rng, ports // 5)
    print(f"{ports:,} ports; {count:,} rules name one of {GROUPS} address groups of {SIZE} CIDRs "
          f"(written out: {len(written.security_group_rules):,} rules)")
    t_ag = statistics.median(timed(lambda: compile_tables(ag_snap))[1] for _ in range(3))
    t_written = statistics.median(timed(lambda: compile_tables(written))[1] for _ in range(3))
    print(f"full compile: address groups {t_ag:.2f} s, written out {t_written:.2f} s; ratio {t_ag / t_written:.2f}")
    base = compile_tables(ag_snap)
    named = sorted({r["remote_address_group_id"] for r in ag_snap.security_group_rules.values()
                    if r.get("remote_address_group_id")})
    times = [timed(lambda: compile_tables(add_address(ag_snap, named, k), base))[1] for k in range(100)]
    median = statistics.median(times)
    print(f"recompile after add_addresses on one group (previous given): {median * 1e3:.2f} ms median, "
          f"p90 {sorted(times)[90] * 1e3:.2f} ms; ratio to full {t_ag / median:,.0f}x")
    batch = flows(ag_snap, rng, 5000)
    tables_written = compile_tables(written)
    for _warm in range(2):  # the second round: lazily built pieces exist on both sides
        got, t_flows = timed(lambda: evaluate_flows(base, batch))
        want, t_flows_written = timed(lambda: evaluate_flows(tables_written, batch))
    same = [g["disposition"] for g in got] == [w["disposition"] for w in want]
    print(f"5,000 flows: address groups {t_flows * 1e3:.0f} ms, written out {t_flows_written * 1e3:.0f} ms; "
          f"ratio {t_flows / t_flows_written:.2f}; verdicts equal: {same}")


if __name__ == "__main__":
    main(sys.argv[1:])
