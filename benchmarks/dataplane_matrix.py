"""All-pairs matrix for 1k ports (routers, floating IPs, 100 groups) and one explained trace.

Prints the matrix time (median), the explained-trace time (median, with and without the allowed
set), and a baseline measured in the same process: the same pairs walked one flow per batch
(extrapolated from a sample) — the ratio is what vectorising the batch buys.
Targets: matrix < 1 s, trace < 10 ms.
"""

from __future__ import annotations

import sys

from xloudnet.analysis.matrix import matrix
from xloudnet.analysis.reachability import reachability
from xloudnet.dataplane import compile_tables, resolve, run_flows
from xloudnet.dataplane.pairs import endpoint_ports
from xloudnet.dataplane.synthetic import synthetic_snapshot

from _timing import median_time


def main(argv=None) -> None:
    snap = synthetic_snapshot(ports=1000, groups=100, rules=1000, seed=0)
    tables = compile_tables(snap)
    ports = endpoint_ports(tables)
    query = {"protocol": "tcp", "destination_port": 22}
    result = matrix(tables, query)
    t_matrix = median_time(lambda: matrix(tables, query), 3)
    pairs = len(ports) ** 2
    reachable = sum(map(sum, result["reachable"]))
    one = {"source": {"port_id": ports[3]}, "destination": {"port_id": ports[-7]}, **query}
    far = {"source": {"port_id": ports[3]}, "destination": {"ip_address": snap.floatingips[sorted(snap.floatingips)[-1]]["floating_ip_address"]}, **query}
    t_trace = median_time(lambda: reachability(tables, one), 30)
    t_trace_fip = median_time(lambda: reachability(tables, far), 30)
    t_allowed = median_time(lambda: reachability(tables, {"source": one["source"], "destination": one["destination"]}), 10)
    sample = [resolve(tables, {"source": {"port_id": ports[i]}, "destination": {"port_id": ports[(i * 7) % len(ports)]}, **query})
              for i in range(200)]
    t_single = median_time(lambda: [run_flows(tables, [f], replies=False) for f in sample], 3) / len(sample)
    print(f"ports {len(ports)}, routers {len(snap.routers)}, floating IPs {len(snap.floatingips)}, "
          f"groups {len(snap.security_groups)}, rules {len(snap.security_group_rules)}")
    print(f"matrix {len(ports)}x{len(ports)} = {pairs:,} pairs: {t_matrix:.3f} s median "
          f"({pairs / t_matrix / 1e6:.2f} M pairs/s; {reachable:,} reachable)   target < 1 s: "
          f"{'met' if t_matrix < 1 else 'NOT met'}")
    print(f"explained trace: {t_trace * 1e3:.2f} ms median (via floating IP {t_trace_fip * 1e3:.2f} ms; "
          f"with allowed set {t_allowed * 1e3:.2f} ms)   target < 10 ms: {'met' if t_trace < 0.01 else 'NOT met'}")
    print(f"baseline one flow per batch: {t_single * 1e6:.0f} us/pair -> {t_single * pairs:.0f} s for the matrix")
    print(f"ratio: {t_single * pairs / t_matrix:.0f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
