"""Walk resolved flows as a batch, then their replies as a second batch."""

from __future__ import annotations

import numpy as np

from ..model.protocols import ICMP_REPLIES
from .addresses import MASK64
from .batch import (AT_EXTERNAL, AT_PORT, AT_ROUTER, DELIVER, DISPOSITIONS, NO_ROUTE, OUTSIDE,
                    REACHABLE_CODES, ROUTE, ROUTER, SEND, Batch, icmp_protocol, port_protocol,
                    reachable_codes)
from .engine import Walk, port_stateful
from .flows import Flow, resolve
from .topology import owner_lookup

_REPLY4 = np.full(256, -1, dtype=np.int64)
_REPLY6 = np.full(256, -1, dtype=np.int64)
for _kind, _answer in ICMP_REPLIES[4].items():
    _REPLY4[_kind] = _answer
for _kind, _answer in ICMP_REPLIES[6].items():
    _REPLY6[_kind] = _answer


def batch_of(flows: list[Flow]) -> Batch:
    """A request batch from resolved flows (one row each)."""
    b = Batch(len(flows))
    if not flows:
        return b
    cols = np.array([(f.v6, f.src >> 64, f.src & MASK64, f.dst >> 64, f.dst & MASK64) for f in flows],
                    dtype=object)
    b.v6[:] = cols[:, 0].astype(bool)
    b.src_hi[:], b.src_lo[:] = cols[:, 1].astype(np.uint64), cols[:, 2].astype(np.uint64)
    b.dst_hi[:], b.dst_lo[:] = cols[:, 3].astype(np.uint64), cols[:, 4].astype(np.uint64)
    nums = np.array([(f.proto if f.proto is not None else 0, f.sport, f.dport, f.itype, f.icode,
                      f.port, f.entry) for f in flows], dtype=np.int64)
    b.proto[:], b.sport[:], b.dport[:], b.itype[:], b.icode[:] = nums[:, :5].T
    start(b, nums[:, 5], nums[:, 6])
    return b


def start(b: Batch, port: np.ndarray, entry: np.ndarray, replies: bool = True) -> None:
    """Packets with a source port start by SEND, the others enter from outside. With
    ``replies``, remember each connection's addresses as sent (replies are checked against them)."""
    inside = port >= 0
    if inside.all():
        b.op[:], b.arg[:] = SEND, port
    else:
        b.move(np.flatnonzero(inside), SEND, port[inside])
        b.move(np.flatnonzero(~inside), OUTSIDE, entry[~inside])
    b.ct_port[:] = port
    if replies:
        b.ct_src = (b.src_hi.copy(), b.src_lo.copy())
        b.ct_dst = (b.dst_hi.copy(), b.dst_lo.copy())


def has_reply(b: Batch) -> np.ndarray:
    """Everything but one-way ICMP gets a reply."""
    icmp = icmp_protocol(b.proto)
    answer = np.where(b.v6, _REPLY6[np.clip(b.itype, 0, 255)], _REPLY4[np.clip(b.itype, 0, 255)])
    return ~icmp | ((b.itype >= 0) & (answer >= 0))


def reply_batch(tb, req: Batch, idx: np.ndarray) -> Batch:
    """The replies of requests ``idx``: addresses and ports swapped, walked as new packets."""
    r = Batch(len(idx))
    r.req = idx.copy()
    r.is_reply[:] = True
    r.v6[:], r.proto[:] = req.v6[idx], req.proto[idx]
    r.src_hi[:], r.src_lo[:] = req.dst_hi[idx], req.dst_lo[idx]
    r.dst_hi[:], r.dst_lo[:] = req.src_hi[idx], req.src_lo[idx]
    ports = port_protocol(req.proto[idx])
    r.sport[:] = np.where(ports, req.dport[idx], req.sport[idx])
    r.dport[:] = np.where(ports, req.sport[idx], req.dport[idx])
    icmp = icmp_protocol(req.proto[idx])
    answer = np.where(req.v6[idx], _REPLY6[np.clip(req.itype[idx], 0, 255)],
                      _REPLY4[np.clip(req.itype[idx], 0, 255)])
    r.itype[:] = np.where(icmp, answer, -1)
    r.icode[:] = np.where(icmp, 0, -1)
    r.ct_port[:] = req.ct_port[idx]
    r.ct_src = (req.ct_src[0][idx], req.ct_src[1][idx])
    r.ct_dst = (req.ct_dst[0][idx], req.ct_dst[1][idx])
    _reply_start(tb, req, idx, r)
    return r


def _reply_start(tb, req: Batch, idx: np.ndarray, r: Batch) -> None:
    kind, slot = req.end_kind[idx], req.end_slot[idx]
    at_port = np.flatnonzero(kind == AT_PORT)
    r.move(at_port, SEND, slot[at_port])
    r.est_send[at_port] = port_stateful(tb, slot[at_port])
    at_router = np.flatnonzero(kind == AT_ROUTER)
    r.move(at_router, ROUTE, slot[at_router])
    r.translated[at_router] = True
    outside = np.flatnonzero(kind == AT_EXTERNAL)
    net = req.exit_net[idx[outside]]
    _owner, link = owner_lookup(tb, net, r.v6[outside], r.dst_hi[outside], r.dst_lo[outside])
    r.move(outside[link], DELIVER, net[link])
    back = outside[~link]
    router = req.leaving[idx[back]]
    via = router >= 0
    r.in_port[back[via]] = tb.rt.gw_port[router[via]]
    r.move(back[via], ROUTER, router[via])
    r.stop(back[~via], NO_ROUTE)


def run_flows(tb, flows: list[Flow], tracers=None, replies: bool = True) -> tuple[Batch, Batch | None]:
    """Walk requests (and, with ``replies``, the replies of reachable ones); returns both batches.

    ``tracers`` — optional ``(request_tracer, reply_tracer)`` for explained traces.
    """
    req = batch_of(flows)
    req.record_visits = replies
    Walk(tb, req, tracers[0] if tracers else None).run()
    if not replies:
        return req, None
    reachable = reachable_codes(req.disp) & has_reply(req)
    idx = np.flatnonzero(reachable)
    rep = reply_batch(tb, req, idx)
    Walk(tb, rep, tracers[1] if tracers else None, request=req).run()
    return req, rep


def verdicts(req: Batch, rep: Batch | None) -> list[dict]:
    """``{"disposition", "reachable", "return_disposition"}`` per request."""
    back = [None] * req.n
    if rep is not None:
        for k, i in enumerate(rep.req.tolist()):
            back[i] = DISPOSITIONS[rep.disp[k]]
    out = []
    for i, code in enumerate(req.disp.tolist()):
        name = DISPOSITIONS[code]
        out.append({"disposition": name, "reachable": code in REACHABLE_CODES, "return_disposition": back[i]})
    return out


def evaluate_flows(tables, flows: list[dict]) -> list[dict]:
    """Verdicts of reachability queries, evaluated as one vectorised batch (plus replies).

    Each result: ``{"disposition", "reachable", "return_disposition"}``. Raises ``QueryError``
    for the first query that names no valid flow (a concrete protocol, and a destination port
    for port protocols, are required here).
    """
    resolved = [resolve(tables, q) for q in flows]
    req, rep = run_flows(tables, resolved)
    return verdicts(req, rep)
