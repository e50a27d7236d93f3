"""The all-pairs matrix of a 100k-port cloud: partitioned over a 2-worker Dask LocalCluster vs one process.

The cloud is ``dataplane.synthetic`` (``--ports`` 100k VMs in networks of 50, routers with
gateways and extra routes, floating IPs, ``--groups`` security groups sharing ``--rules`` rules).
The matrix asks tcp/22 from the first ``--sources`` endpoint ports (default 200) to every endpoint
port: the full 100k x 100k matrix is 10^10 pairs, so the benchmark measures a band of source rows
and extrapolates from the measured pair rate.

- one process: a fresh process builds the cloud, compiles the tables and walks every row
  (``analysis.partitioned.matrix_codes``, the same batches as ``analysis.matrix``);
- partitioned: each worker builds the same cloud itself (nothing large is shipped), compiles it
  once, resolves the endpoints once, then walks the blocks of rows it is given; only one byte per
  pair comes back.

Prints wall times (set-up: build + compile + endpoints; rows), the speed-up, peak RSS of the one
process and of each worker, and checks that both matrices are identical.
``--quick``: 10k ports, 100 sources.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import resource
import sys
import time

import numpy as np

from xloudnet.analysis.partitioned import matrix_codes, partitioned_matrix
from xloudnet.dataplane import compile_tables
from xloudnet.dataplane.pairs import endpoint_ports
from xloudnet.dataplane.synthetic import synthetic_snapshot
from _parallel import parallel_ceiling
from xloudnet.sweep.cluster import dask_client


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_process(build, sources: int, port: int, queue) -> None:
    """In a fresh process: build, compile, walk every row; send back times, codes and peak RSS."""
    t0 = time.perf_counter()
    tables = compile_tables(build())
    query = {"protocol": "tcp", "destination_port": port,
             "sources": [{"port_id": p} for p in endpoint_ports(tables)[:sources]]}
    t1 = time.perf_counter()
    result = matrix_codes(tables, query)
    t2 = time.perf_counter()
    queue.put((t1 - t0, t2 - t1, result.codes, peak_mb()))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.ports, args.groups, args.rules, args.sources = 10_000, 100, 1000, 100
    build = functools.partial(synthetic_snapshot, ports=args.ports, groups=args.groups, rules=args.rules, seed=0)
    ceiling = parallel_ceiling(args.workers)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=one_process, args=(build, args.sources, 22, queue))
    t0 = time.perf_counter()
    child.start()
    t_setup1, t_rows1, codes1, peak1 = queue.get()
    child.join()
    t_one = time.perf_counter() - t0

    t0 = time.perf_counter()
    with dask_client(args.workers) as client:
        client.wait_for_workers(args.workers)
        t_start = time.perf_counter() - t0
        # The sources: the first N endpoint ports, named as the one process names them.
        ids = sorted(p for p, r in build().ports.items() if not (r.get("device_owner") or "").startswith("network:"))
        query = {"protocol": "tcp", "destination_port": 22, "sources": [{"port_id": p} for p in ids[:args.sources]]}
        timings = {}
        t0 = time.perf_counter()
        result = partitioned_matrix(client, build, query, blocks_per_worker=4, timings=timings)
        t_part = time.perf_counter() - t0
        peaks = client.run(peak_mb)
    pairs = codes1.size
    same = np.array_equal(result.codes, codes1)
    rows2 = timings["rows_s"]
    print(f"cloud: {args.ports:,} ports ({len(ids):,} endpoints), {args.groups} groups, {args.rules:,} rules; "
          f"matrix {args.sources} sources x {len(ids):,} destinations = {pairs:,} pairs (tcp/22)")
    print(f"one process:     {t_one:7.2f} s wall (build + compile + endpoints {t_setup1:.2f} s, rows {t_rows1:.2f} s = "
          f"{pairs / t_rows1 / 1e6:.2f} M pairs/s); peak RSS {peak1:,.0f} MB")
    print(f"partitioned on {args.workers} workers: {t_part:7.2f} s wall (set-up on every worker in parallel "
          f"{timings['setup_s']:.2f} s, rows {rows2:.2f} s = {pairs / rows2 / 1e6:.2f} M pairs/s, "
          f"{timings['blocks']} blocks); peak RSS per worker "
          + ", ".join(f"{v:,.0f} MB" for v in peaks.values()) + f"; cluster start-up {t_start:.2f} s (not included)")
    ceiling = (ceiling + parallel_ceiling(args.workers)) / 2
    print(f"speed-up: {t_one / t_part:.2f}x wall, {t_rows1 / rows2:.2f}x on the rows; identical matrices: {same}; "
          f"this machine's parallel ceiling now ({args.workers} spinning processes vs one): {ceiling:.2f}x")
    full = len(ids) ** 2
    print(f"the full {len(ids):,} x {len(ids):,} matrix ({full:.1e} pairs) extrapolates to "
          f"{full / (pairs / t_rows1) / 3600:.1f} h in one process, "
          f"{full / (pairs / rows2) / 3600:.1f} h on {args.workers} workers")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
