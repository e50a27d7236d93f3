"""The all-pairs matrix of a large cloud, partitioned by source rows over a Dask cluster.

``partitioned_matrix(client, cloud, query)`` compiles the flow tables once per worker (from a
snapshot scattered to every worker, or from a deterministic builder each worker calls), resolves
the query's endpoints once per worker, then has each worker walk contiguous blocks of source rows
with the same vectorised batches as ``analysis.matrix`` and send back only the block's
disposition codes (one byte per pair). The answer equals the one-process matrix pair for pair.

This module never imports Dask: it only calls the ``client`` it is given, so the API server can
import the analysis package without loading it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..control.snapshot import COLLECTIONS, Snapshot
from ..dataplane import FlowTables, compile_tables
from ..dataplane.batch import DISPOSITIONS, reachable_codes
from ..dataplane.engine import Walk
from ..dataplane.pairs import PairSet, endpoint_ports


@dataclass
class MatrixCodes:
    """A matrix as disposition codes: ``codes[i, j]`` is source ``i`` → destination ``j``."""

    sources: list[str]
    destinations: list[str]
    codes: np.ndarray  # int8, len(sources) x len(destinations); names in ``DISPOSITIONS``

    @property
    def reachable(self) -> np.ndarray:
        return reachable_codes(self.codes)

    def counts(self) -> dict[str, int]:
        """Pairs per disposition."""
        values, counts = np.unique(self.codes, return_counts=True)
        return {DISPOSITIONS[v]: int(c) for v, c in zip(values, counts)}

    def as_answer(self) -> dict:
        """The answer of ``analysis.matrix.matrix`` (lists; for matrices small enough to print)."""
        names = np.array(DISPOSITIONS, dtype=object)
        return {"sources": list(self.sources), "destinations": list(self.destinations),
                "reachable": self.reachable.tolist(), "dispositions": names[self.codes].tolist()}


# --- what runs in a worker (or in this process, for the one-process figures) ------------------
def snapshot_records(snapshot: Snapshot) -> dict:
    """A snapshot as plain lists of records (what ships to workers; the read-only maps of a
    ``Snapshot`` do not pickle)."""
    return {"revision": snapshot.revision,
            **{name: list(snapshot.collection(name).values()) for name in COLLECTIONS}}


def compile_records(records: dict) -> FlowTables:
    records = dict(records)
    return compile_tables(Snapshot.from_resources(revision=records.pop("revision"), **records))


def compile_built(build: Callable[[], Snapshot]) -> FlowTables:
    return compile_tables(build())


def prepare(tables: FlowTables, query: dict) -> PairSet:
    """Every endpoint of the query resolved once (default: every endpoint port, sorted by id)."""
    ports = None
    if query.get("sources") is None or query.get("destinations") is None:
        ports = [{"port_id": pid} for pid in endpoint_ports(tables)]
    sources = query.get("sources") if query.get("sources") is not None else ports
    destinations = query.get("destinations") if query.get("destinations") is not None else ports
    return PairSet(tables, sources, destinations, query)


def ends(pairs: PairSet) -> tuple[list[str], list[str]]:
    return pairs.src_ids, pairs.dst_ids


def ready(_pairs: PairSet) -> None:
    return None


def rows(pairs: PairSet, first: int, last: int) -> tuple[int, np.ndarray]:
    """Source rows ``first..last-1``, walked in cache-sized batches as ``analysis.matrix`` does."""
    m = len(pairs.dst_ids)
    out = np.empty((last - first, m), dtype=np.int8)
    step = pairs.rows_per_batch()
    for lo in range(first, last, step):
        hi = min(last, lo + step)
        batch = pairs.batch(lo, hi)
        Walk(pairs.tables, batch).run()
        out[lo - first:hi - first] = batch.disp.reshape(hi - lo, m)
    return first, out


def matrix_codes(tables: FlowTables, query: dict) -> MatrixCodes:
    """The whole matrix in this process (the baseline the partitioned run must equal)."""
    pairs = prepare(tables, query)
    _, codes = rows(pairs, 0, len(pairs.src_ids))
    return MatrixCodes(pairs.src_ids, pairs.dst_ids, codes)


# --- the coordinator ------------------------------------------------------------------------
def partitioned_matrix(client, cloud: Snapshot | Callable[[], Snapshot], query: dict, *,
                       blocks_per_worker: int = 4, progress: Callable[[int, int], None] | None = None,
                       timings: dict | None = None) -> MatrixCodes:
    """The matrix of ``query`` (as for ``analysis.matrix.matrix``) on ``client``'s workers.

    ``cloud``: a ``Snapshot`` (scattered once to every worker), or a function returning the same
    snapshot wherever it is called (each worker calls it: nothing large is shipped).
    ``progress(done_rows, total_rows)`` after each block. Each worker keeps its compiled tables and
    resolved endpoints for the whole run; only disposition codes come back. ``timings``, when
    given, receives ``setup_s`` (until every worker had compiled and resolved) and ``rows_s``.
    """
    start = time.perf_counter()
    from distributed import as_completed  # the client's package; imported only when one is used

    workers = sorted(client.scheduler_info()["workers"])
    if not workers:
        raise RuntimeError("the Dask cluster has no workers")
    if isinstance(cloud, Snapshot):
        shipped = client.scatter(snapshot_records(cloud), broadcast=True, hash=False)
        make, arg = compile_records, shipped
    else:
        make, arg = compile_built, cloud
    # One compiled copy and one endpoint resolution per worker, pinned there (never moved).
    pairs = {}
    for w in workers:
        tables = client.submit(make, arg, workers=[w], allow_other_workers=False, pure=False)
        pairs[w] = client.submit(prepare, tables, query, workers=[w], allow_other_workers=False, pure=False)
    src_ids, dst_ids = client.submit(ends, pairs[workers[0]], workers=[workers[0]], pure=False).result()
    # Every worker ready (a no-op task on each: nothing of its pairs travels), so that the set-up
    # and the rows are timed apart.
    client.gather([client.submit(ready, pairs[w], workers=[w], pure=False) for w in workers])
    set_up = time.perf_counter()
    n, m = len(src_ids), len(dst_ids)
    codes = np.empty((n, m), dtype=np.int8)
    blocks = max(1, min(n, len(workers) * blocks_per_worker))
    edges = np.linspace(0, n, blocks + 1).astype(int)
    futures = [client.submit(rows, pairs[workers[b % len(workers)]], int(edges[b]), int(edges[b + 1]),
                             workers=[workers[b % len(workers)]], allow_other_workers=False, pure=False)
               for b in range(blocks) if edges[b + 1] > edges[b]]
    done = 0
    try:
        for future in as_completed(futures, loop=client.loop):
            first, block = future.result()
            codes[first:first + len(block)] = block
            done += len(block)
            if progress is not None:
                progress(done, n)
    finally:
        client.cancel([f for f in futures if not f.done()] + list(pairs.values()))
    if timings is not None:
        timings.update(setup_s=set_up - start, rows_s=time.perf_counter() - set_up, blocks=len(futures))
    return MatrixCodes(src_ids, dst_ids, codes)


__all__ = ["partitioned_matrix", "matrix_codes", "MatrixCodes", "snapshot_records"]
