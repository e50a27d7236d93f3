"""The topology graph at 10k ports: building it, colouring it by one port's reach, lint's group graph.

The cloud is ``dataplane_whatif.build`` (through the Neutron API: 200 networks of 50 VMs, 20
routers, 20 % floating IPs, 1000 groups, ~10k rules). Medians over a few runs:

- ``build_topology`` of the snapshot, and its node-link JSON;
- ``reach_from`` one port (every other port, every floating IP and the outside, one service),
  against a baseline measured in the same run: the same destinations asked one by one as
  ``reachability`` questions (extrapolated from a sample);
- ``security_group_graph``, which lint builds on every run.

    python benchmarks/topology_graph.py [--ports 10000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from dataplane_whatif import build

from xloudnet.analysis.reachability import reachability
from xloudnet.analysis.topology import build_topology, reach_from, security_group_graph, to_json
from xloudnet.dataplane import compile_tables


def median_s(fn, runs: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=10000)
    args = parser.parse_args(argv)
    plane, _groups = build(args.ports)
    snapshot = plane.snapshot()
    tables = compile_tables(snapshot)
    built, graph = median_s(lambda: build_topology(snapshot, tables))
    print(f"build_topology: {built * 1e3:.0f} ms for {graph.number_of_nodes():,} nodes, "
          f"{graph.number_of_edges():,} edges")
    dumped, text = median_s(lambda: json.dumps(to_json(graph)))
    print(f"node-link JSON: {dumped * 1e3:.0f} ms, {len(text) / 1e6:.1f} MB")
    source = next(d["id"] for _n, d in graph.nodes(data=True) if d["kind"] == "port")
    query = {"protocol": "tcp", "destination_port": 22}
    coloured, result = median_s(lambda: reach_from(graph, source, query))
    sample = [d["id"] for _n, d in graph.nodes(data=True) if d["kind"] == "port" and d["id"] != source][:50]
    t0 = time.perf_counter()
    for pid in sample:
        reachability(tables, {"source": {"port_id": source}, "destination": {"port_id": pid}, **query})
    one_by_one = (time.perf_counter() - t0) / len(sample) * len(result)
    print(f"reach_from one port to {len(result):,} destinations: {coloured * 1e3:.0f} ms; baseline "
          f"(one reachability question each, extrapolated) {one_by_one:.1f} s -> ratio {one_by_one / coloured:,.0f}x")
    groups, group_graph = median_s(lambda: security_group_graph(snapshot))
    print(f"security_group_graph: {groups * 1e3:.0f} ms for {group_graph.number_of_nodes():,} groups, "
          f"{group_graph.number_of_edges():,} remote-group edges")


if __name__ == "__main__":
    main()
