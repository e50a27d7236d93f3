"""Compile time and its growth (1k → 10k → 100k ports), and the incremental recompile.

Prints full compile times (median) per size with the growth factor per 10x, then at 10k ports /
1k groups / 10k rules the recompile after one rule change and after one route change with
``previous`` (median over many changes), each with its ratio to the full compile measured in
the same process (and the one-rule recompile again when told which record changed, as a
control-plane fork can). Target: one-rule-change recompile <= 1 ms median. ``--quick`` skips 100k.
"""

from __future__ import annotations

import statistics
import sys
import time

from xloudnet.dataplane import compile_tables
from xloudnet.dataplane.tables import diff
from xloudnet.dataplane.synthetic import change_one_route, change_one_rule, synthetic_snapshot


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(argv=None) -> None:
    argv = argv or []
    sizes = (1000, 10000) if "--quick" in argv else (1000, 10000, 100000)
    full = {}
    for ports in sizes:
        snap = synthetic_snapshot(ports=ports, groups=ports // 10, rules=ports, seed=0)
        runs = 3 if ports <= 10000 else 1
        full[ports] = statistics.median(timed(lambda: compile_tables(snap))[1] for _ in range(runs))
        print(f"full compile {ports:>7,} ports / {ports // 10:,} groups / {ports:,} rules: {full[ports]:.2f} s")
    for small, big in zip(sizes, sizes[1:]):
        print(f"growth {small:,} -> {big:,}: x{full[big] / full[small]:.1f} for x{big // small} size")
    snap = synthetic_snapshot(ports=10000, groups=1000, rules=10000, seed=0)
    base = compile_tables(snap)
    for label, change, count in (("one rule change", change_one_rule, 200), ("one route change", change_one_route, 50)):
        times = []
        for k in range(count):
            changed = change(snap, k)
            times.append(timed(lambda: compile_tables(changed, base))[1])
        median = statistics.median(times)
        print(f"recompile after {label} (10k ports, previous given): {median * 1e3:.3f} ms median, "
              f"p90 {sorted(times)[int(0.9 * len(times))] * 1e3:.3f} ms; ratio to full {full[10000] / median:,.0f}x")
        if label == "one rule change":
            print(f"target <= 1 ms median: {'met' if median <= 1e-3 else 'NOT met'}")
            hinted = []  # the same, told which record changed (as a control-plane fork can)
            for k in range(count):
                changed = change(snap, k)
                touched = {("security_group_rules", rid) for rid in
                           diff(snap.security_group_rules, changed.security_group_rules)}
                hinted.append(timed(lambda: compile_tables(changed, base, changed=touched))[1])
            print(f"  ... given the changed ids: {statistics.median(hinted) * 1e3:.3f} ms median, "
                  f"p90 {sorted(hinted)[int(0.9 * len(hinted))] * 1e3:.3f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
