"""All-pairs reachability (``POST /simulation/v1/reachability/matrix``; docs/dataplane.md)."""

from __future__ import annotations

import numpy as np

from ..dataplane import FlowTables, QueryError
from ..dataplane.batch import DISPOSITIONS, reachable_codes
from ..dataplane.engine import Walk
from ..dataplane.pairs import PairSet, endpoint_ports


def matrix(tables: FlowTables, query: dict, max_pairs: int | None = None, cancelled=None) -> dict:
    """Every (source, destination) pair's verdict, computed as vectorised batches of whole
    source rows (cache-sized; see ``dataplane.pairs.PairSet``).

    ``query``: ``{"protocol", "destination_port"?, "source_port"?, "ethertype"?, "icmp_type"?,
    "icmp_code"?, "sources": [endpoint]?, "destinations": [endpoint]?}``; endpoints as in a
    reachability query, default every endpoint port (device_owner not ``network:*``). The
    protocol, and the destination port of a port protocol, are required (``QueryError`` 400).
    Returns ``{"sources": [ids], "destinations": [ids], "reachable": [[bool]],
    "dispositions": [[str]]}`` (ids: port ids, or the address of an ``ip_address`` endpoint),
    rows by source. A pair with no common address family, or with both ends outside the cloud,
    is ``NO_ROUTE``.

    ``max_pairs``: refuse (400, naming the cap) more than this many sources × destinations.
    ``cancelled()``: checked between batches; once true the work stops (``QueryError`` 499,
    "client closed request": nobody is waiting for the answer).
    """
    if not isinstance(query, dict):
        raise QueryError("the query must be an object")
    sources, destinations = query.get("sources"), query.get("destinations")
    if sources is None or destinations is None:
        ports = [{"port_id": pid} for pid in endpoint_ports(tables)]
    sources = sources if sources is not None else ports
    destinations = destinations if destinations is not None else ports
    if max_pairs is not None and len(sources) * len(destinations) > max_pairs:
        raise QueryError(f"the matrix has {len(sources)} sources x {len(destinations)} destinations = "
                         f"{len(sources) * len(destinations):,} pairs; the limit is {max_pairs:,} "
                         f"(matrix_max_pairs): name fewer 'sources' or 'destinations'")
    pairs = PairSet(tables, sources, destinations, query)
    src_ids, dst_ids = pairs.src_ids, pairs.dst_ids
    names = np.array(DISPOSITIONS, dtype=object)
    reachable: list = []
    dispositions: list = []
    step = pairs.rows_per_batch()
    for first in range(0, len(src_ids), step):  # whole source rows per batch (see PairSet)
        if cancelled is not None and cancelled():
            raise QueryError("cancelled: the client went away", 499)
        last = min(len(src_ids), first + step)
        batch = pairs.batch(first, last)
        Walk(tables, batch).run()
        codes = batch.disp.reshape(last - first, len(dst_ids))
        # Rows become lists batch by batch: no single call holds the interpreter for long.
        reachable.extend(reachable_codes(codes).tolist())
        dispositions.extend(names[codes].tolist())
    return {"sources": src_ids, "destinations": dst_ids, "reachable": reachable, "dispositions": dispositions}


__all__ = ["matrix"]
