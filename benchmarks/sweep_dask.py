"""A 32-point QoS sweep: serially in this process vs on a 2-worker Dask LocalCluster.

The base is a generated capacity scenario — ``--tenants`` tenants (default 40) on one shared
network behind a router, each with a server, an egress bandwidth limit and one UDP flow to the
internet — and the sweep is 4 uplink capacities × 4 offered loads per tenant × 2 policies on the
first tenant (limited / none) = 32 points, each a ``--duration`` (default 10 s) simulation.

The speed-up is bounded by the parallelism the machine gives at the time (other work shares
its cores): ``parallel_ceiling`` measures it in the same run and the script prints both.
Both runs are warmed first (the simulator's compiled kernels load once per process): the serial
baseline in this process, the cluster with one point run on every worker. Prints both wall
times, the speed-up, the cluster's start-up time, and checks that both runs gave the same figures.
``--quick``: 8 tenants, 2 s (a smoke test).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _parallel import parallel_ceiling
from xloudnet.sweep.cluster import dask_client, run_on, run_serial
from xloudnet.sweep.plan import load_sweep
from xloudnet.sweep.point import run_point


def base_scenario(tenants: int) -> str:
    lines = ["name: sweep-bench", "default_project: provider",
             "networks:", "  - {name: public, external: true}", "  - {name: access, shared: true}",
             "subnets:", "  - {name: public-sub, network: public, cidr: 203.0.113.0/24, enable_dhcp: false}",
             "  - {name: access-sub, network: access, cidr: 10.20.0.0/22}",
             "routers:", "  - {name: edge, external_gateway_info: {network: public}, interfaces: [access-sub]}",
             "links:", "  uplink:edge/out: {capacity_kbps: 1000000, delay_ms: 2}", "qos_policies:"]
    lines += [f"  - {{name: t{t:03d}-limit, project: t{t:03d}, rules: [{{type: bandwidth_limit, max_kbps: 40000, "
              f"max_burst_kbps: 4000, direction: egress}}]}}" for t in range(tenants)]
    lines += ["servers:"]
    lines += [f"  - {{name: t{t:03d}-vm, project: t{t:03d}, network: access, qos_policy: t{t:03d}-limit}}"
              for t in range(tenants)]
    lines += ["traffic:", "  duration_s: 1", "  flows:"]
    lines += [f"    - {{name: t{t:03d}-up, from: t{t:03d}-vm, to: internet, protocol: udp, destination_port: 5001, "
              f"rate_kbps: 1000}}" for t in range(tenants)]
    return "\n".join(lines) + "\n"


def sweep_file(duration: float, tenants: int) -> str:
    return (f"name: bench\nbase: base.yaml\nduration_s: {duration}\naxes:\n"
            f"  - name: uplink_kbps\n    link: {{link: 'uplink:edge/out', values: "
            f"[{tenants * 10000}, {tenants * 20000}, {tenants * 30000}, {tenants * 40000}]}}\n"
            "  - name: offered_kbps\n    offered: {rate_kbps: [20000, 40000, 60000, 80000]}\n"
            "  - name: t000_policy\n    policy: {ports: [t000-vm], values: [t000-limit, null]}\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=40)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.tenants, args.duration = 8, 2.0
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "base.yaml").write_text(base_scenario(args.tenants))
        (Path(tmp) / "sweep.yaml").write_text(sweep_file(args.duration, args.tenants))
        sweep = load_sweep(Path(tmp) / "sweep.yaml")
    tasks = sweep.tasks()
    ceiling = parallel_ceiling(args.workers)
    run_point(tasks[0])  # warm: the simulator's kernels load once per process
    t0 = time.perf_counter()
    serial = run_serial(tasks)
    t_serial = time.perf_counter() - t0
    packets = sum(f["offered_packets"] for r in serial for f in r["flows"])
    t0 = time.perf_counter()
    with dask_client(args.workers) as client:
        client.wait_for_workers(args.workers)
        t_start = time.perf_counter() - t0
        client.run(run_point, tasks[0])  # warm every worker the same way
        t0 = time.perf_counter()
        distributed = run_on(client, tasks)
        t_dask = time.perf_counter() - t0

    def strip(rs):
        return [{k: v for k, v in r.items() if k != "wall_s"} for r in rs]

    same = strip(serial) == strip(distributed)
    print(f"sweep: {len(tasks)} points, {args.tenants} flows x {args.duration:g} s each, "
          f"{packets / 1e6:.1f} M packets offered in all")
    print(f"serial in one process:        {t_serial:7.2f} s  ({len(tasks) / t_serial:.2f} points/s, "
          f"{packets / t_serial / 1e6:.2f} M packets/s)")
    print(f"Dask LocalCluster, {args.workers} workers:  {t_dask:7.2f} s  ({len(tasks) / t_dask:.2f} points/s, "
          f"{packets / t_dask / 1e6:.2f} M packets/s); cluster start-up {t_start:.2f} s (not included)")
    ceiling = (ceiling + parallel_ceiling(args.workers)) / 2
    print(f"speed-up: {t_serial / t_dask:.2f}x on {args.workers} workers; results identical to the serial run: {same}")
    print(f"this machine's parallel ceiling now ({args.workers} spinning processes vs one, before and after): "
          f"{ceiling:.2f}x -> the sweep reached {t_serial / t_dask / ceiling:.0%} of it")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
