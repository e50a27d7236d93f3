"""All-pairs reachability (``POST /simulation/v1/reachability/matrix``; docs/dataplane.md)."""

from __future__ import annotations

import numpy as np

from ..dataplane import FlowTables, QueryError
from ..dataplane.batch import DISPOSITIONS, reachable_codes
from ..dataplane.engine import Walk
from ..dataplane.pairs import PairSet, endpoint_ports


def matrix(tables: FlowTables, query: dict) -> dict:
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
    """
    if not isinstance(query, dict):
        raise QueryError("the query must be an object")
    sources, destinations = query.get("sources"), query.get("destinations")
    if sources is None or destinations is None:
        ports = [{"port_id": pid} for pid in endpoint_ports(tables)]
    sources = sources if sources is not None else ports
    destinations = destinations if destinations is not None else ports
    pairs = PairSet(tables, sources, destinations, query)
    src_ids, dst_ids = pairs.src_ids, pairs.dst_ids
    codes = np.empty((len(src_ids), len(dst_ids)), dtype=np.int8)
    step = pairs.rows_per_batch()
    for first in range(0, len(src_ids), step):  # whole source rows per batch (see PairSet)
        last = min(len(src_ids), first + step)
        batch = pairs.batch(first, last)
        Walk(tables, batch).run()
        codes[first:last] = batch.disp.reshape(last - first, len(dst_ids))
    names = np.array(DISPOSITIONS, dtype=object)[codes]
    return {"sources": src_ids, "destinations": dst_ids,
            "reachable": reachable_codes(codes).tolist(), "dispositions": names.tolist()}


__all__ = ["matrix"]
