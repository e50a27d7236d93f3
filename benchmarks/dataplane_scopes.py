"""Address scopes: the all-pairs matrix of a 1k-port cloud whose subnets are spread over two
scopes (every router then checks scopes, SNAT exemptions and announced routes), against the same
cloud without scopes, measured in the same process.

Prints both matrix times (median), their ratio (the price of the scope checks), how many pairs
the scopes cut off, and the recompile time after one pool changes scope (what a what-if on a
pool costs), against a full compile.
"""

from __future__ import annotations

import sys
from types import MappingProxyType

from xloudnet.analysis.matrix import matrix
from xloudnet.dataplane import compile_tables
from xloudnet.dataplane.synthetic import synthetic_snapshot

from _timing import median_time

SCOPES = ("scope-blue", "scope-red")


def scoped(snap):
    """The snapshot with each tenant subnet taken from a pool of blue or red (alternating), and
    the external subnets from blue."""
    pools = {f"pool-{s}": {"id": f"pool-{s}", "ip_version": 4, "address_scope_id": s, "revision_number": 1}
             for s in SCOPES}
    subnets = {}
    for k, (sid, subnet) in enumerate(sorted(snap.subnets.items())):
        external = snap.networks[subnet["network_id"]].get("router:external")
        scope = SCOPES[0] if external else SCOPES[k % 2]
        subnets[sid] = {**subnet, "subnetpool_id": f"pool-{scope}"}
    return type(snap)(**{**snap.__dict__, "subnets": MappingProxyType(subnets),
                         "subnetpools": MappingProxyType(pools)})


def main(argv=None) -> None:
    plain = synthetic_snapshot(ports=1000, groups=100, rules=1000, seed=0)
    snap = scoped(plain)
    query = {"protocol": "tcp", "destination_port": 22}
    tables, base = compile_tables(snap), compile_tables(plain)
    with_scopes, without = matrix(tables, query), matrix(base, query)
    t_scoped = median_time(lambda: matrix(tables, query), 3)
    t_plain = median_time(lambda: matrix(base, query), 3)
    cut = sum(map(sum, without["reachable"])) - sum(map(sum, with_scopes["reachable"]))
    pairs = len(with_scopes["sources"]) * len(with_scopes["destinations"])
    print(f"ports {len(snap.ports)}, subnets {len(snap.subnets)} in {len(SCOPES)} scopes, routers {len(snap.routers)}")
    print(f"matrix {pairs:,} pairs: scoped {t_scoped:.3f} s, unscoped (baseline) {t_plain:.3f} s median; "
          f"ratio {t_scoped / t_plain:.2f}x; {cut:,} pairs cut off by scopes")
    pool = snap.subnetpools["pool-scope-red"]
    moved = type(snap)(**{**snap.__dict__, "subnetpools": MappingProxyType(
        {**snap.subnetpools, pool["id"]: {**pool, "address_scope_id": SCOPES[0], "revision_number": 2}})})
    t_full = median_time(lambda: compile_tables(moved), 3)
    t_inc = median_time(lambda: compile_tables(moved, tables), 5)
    print(f"recompile after one pool changes scope: {t_inc * 1e3:.1f} ms median; full compile {t_full * 1e3:.1f} ms; "
          f"ratio {t_full / t_inc:.1f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
