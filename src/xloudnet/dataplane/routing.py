"""docs/semantics.md §4.5 over a batch: entering a router (TTL, admin state, conntrack or DNAT, router-local
addresses) and routing out of it (longest prefix, gateway SNAT, the out port's admin state).

NAT is IPv4 only. A router that translated a request reverses it for the reply (matched on
the addresses it sent out); any other router treats a reply as a new packet.
"""

from __future__ import annotations

import numpy as np

from ..model.dispositions import Action, Stage, Translation
from . import forwarding
from . import topology as topo
from . import trie
from .scopes import scope_names, scope_of, scoped_gateway
from .addresses import format_ip, join
from .batch import (ACCEPTED, ADMIN_DOWN, AT_ROUTER, DELIVER, DENIED_INGRESS, LOOP, NEXTHOP, NO_ROUTE, ROUTE,
                    is_echo_request, port_protocol)


def enter_router(w, idx) -> None:
    """Arrival at router ``arg`` by port ``in_port`` (-1: no port, e.g. a missing gateway)."""
    tb, b = w.tb, w.b
    w.note(idx, lambda i: w.hop("router", b.arg[i], Stage.ENTER, Action.FORWARD))
    loop = b.ttl[idx] <= 0
    w.stop(idx[loop], LOOP, lambda i: w.hop("router", b.arg[i], Stage.ROUTE, Action.DROP, reason="TTL exceeded"))
    idx = idx[~loop]
    b.ttl[idx] -= 1
    router, port = b.arg[idx], b.in_port[idx]
    up = tb.rt.admin[router] & ((port < 0) | tb.port.admin[np.maximum(port, 0)])
    w.stop(idx[~up], ADMIN_DOWN, lambda i: w.hop("router", b.arg[i], Stage.ADMIN_STATE, Action.DROP,
                                                 reason="router or its port is down"))
    idx = idx[up]
    for pair, cols in ((b.in_src, (b.src_hi, b.src_lo)), (b.in_dst, (b.dst_hi, b.dst_lo))):
        pair[0][idx], pair[1][idx] = cols[0][idx], cols[1][idx]
    b.in_dport[idx] = b.dport[idx]
    b.translated[idx] = False
    b.scope_free[idx] = False
    if w.request is not None:
        _reverse(w, idx[b.is_reply[idx]])
    _dnat(w, idx[~b.translated[idx] & ~b.v6[idx]])
    _local(w, idx)


def _reverse(w, idx) -> None:
    """Undo the translation of the request's visit to this router (first matching visit)."""
    b, req = w.b, w.request
    done = np.zeros(len(idx), dtype=bool)
    for visit in req.visits:
        if not len(visit["idx"]):
            continue
        pos = np.full(req.n, -1, dtype=np.int64)
        pos[visit["idx"]] = np.arange(len(visit["idx"]))
        k = pos[b.req[idx]]
        kk = np.maximum(k, 0)
        hit = (~done & (k >= 0) & (visit["router"][kk] == b.arg[idx])
               & (b.src_hi[idx] == visit["out_dst"][0][kk]) & (b.src_lo[idx] == visit["out_dst"][1][kk])
               & (b.dst_hi[idx] == visit["out_src"][0][kk]) & (b.dst_lo[idx] == visit["out_src"][1][kk]))
        sel, ks = idx[hit], kk[hit]
        b.src_hi[sel], b.src_lo[sel] = visit["in_dst"][0][ks], visit["in_dst"][1][ks]
        b.dst_hi[sel], b.dst_lo[sel] = visit["in_src"][0][ks], visit["in_src"][1][ks]
        ports = port_protocol(b.proto[sel])  # port forwarding changed the destination port
        b.sport[sel[ports]] = visit["in_dport"][ks[ports]]
        b.translated[sel] = True
        b.scope_free[sel] = ((visit["in_src"][0][ks] != visit["out_src"][0][ks]) | (visit["in_src"][1][ks] != visit["out_src"][1][ks])
                             | (visit["in_dst"][0][ks] != visit["out_dst"][0][ks]) | (visit["in_dst"][1][ks] != visit["out_dst"][1][ks]))
        done |= hit
    w.note(idx[done], lambda i: w.hop("router", b.arg[i], Stage.DNAT, Action.TRANSLATE, conntrack="established"))


def _dnat(w, idx) -> None:
    """A floating IP held by this router → its fixed IP, or through a port forwarding to an
    internal address and port; hairpin SNAT for internal sources. A forwarding floating IP that
    no forwarding matches stays: it is one of the router's own addresses (``_local``)."""
    tb, b = w.tb, w.b
    router = b.arg[idx]
    fip = trie.lookup(tb.nodes, tb.rt.dnat[router], (b.dst_hi[idx], b.dst_lo[idx]), trie.V4_LEVELS)
    hit = fip >= 0
    idx, router, fip = idx[hit], router[hit], fip[hit]
    if not len(idx):
        return
    whole = tb.fip.fixed[fip] != 0
    forwarded = _forward(w, idx[~whole], fip[~whole])
    idx, router, fip = (np.concatenate((idx[whole], idx[~whole][forwarded])),
                        np.concatenate((router[whole], router[~whole][forwarded])), fip[whole])
    before = b.dst_lo[idx[:len(fip)]].copy()
    b.dst_lo[idx[:len(fip)]] = tb.fip.fixed[fip]
    b.translated[idx] = True
    b.scope_free[idx[:len(fip)]] = True  # 1:1 floating-IP NAT crosses address scopes (port forwarding does not)
    _note_each(w, idx[:len(fip)], lambda k: _translation(w, idx[k], Stage.DNAT, Translation.DNAT, before[k],
                                                         b.dst_lo[idx[k]]))
    port = b.in_port[idx]
    inside = (port < 0) | ~tb.port.gw[np.maximum(port, 0)]
    _source_nat(w, idx[inside], router[inside], Stage.SNAT)


def _forward(w, idx, fip) -> np.ndarray:
    """Port forwarding of packets ``idx`` to forwarding floating IPs ``fip``: rewrites address
    and destination port of the matched ones (whose mask it returns) and traces them."""
    tb, b = w.tb, w.b
    row = forwarding.lookup(tb.forwards, fip, b.proto[idx], np.where(port_protocol(b.proto[idx]), b.dport[idx], -1))
    hit = row >= 0
    sel, row = idx[hit], row[hit]
    if len(sel):
        address, port = forwarding.translate(tb.forwards, row, b.dport[sel])
        before, from_port = b.dst_lo[sel].copy(), b.dport[sel].copy()
        b.dst_lo[sel] = address
        b.set_dport(sel, port)
        _note_each(w, sel, lambda k: _translation(w, sel[k], Stage.DNAT, Translation.DNAT, before[k], address[k],
                                                  from_port=int(from_port[k]), to_port=int(port[k])))
    return hit


def _source_nat(w, idx, router, stage: Stage, default_snat=True) -> np.ndarray:
    """Own floating IP on the router, else the gateway IP when enable_snat (and
    ``default_snat``), else unchanged. Returns the packets translated."""
    tb, b = w.tb, w.b
    own = trie.lookup(tb.nodes, tb.rt.srcfip[router], (b.src_hi[idx], b.src_lo[idx]), trie.V4_LEVELS)
    gateway = tb.rt.snat[router] & tb.rt.gw4_has[router] & default_snat
    new = np.where(own >= 0, tb.fip.addr[np.maximum(own, 0)], tb.rt.gw4[router])
    change = (own >= 0) | gateway
    idx, new = idx[change], new[change]
    before = b.src_lo[idx].copy()
    b.src_lo[idx] = new
    _note_each(w, idx, lambda k: _translation(w, idx[k], stage, Translation.SNAT, before[k], new[k]))
    return idx


def _note_each(w, idx, make) -> None:
    """Trace hops built from the position ``k`` of each packet in ``idx``."""
    if w.tr is not None:
        for k, i in enumerate(idx):
            w.tr.add(int(i), make(k))


def _translation(w, i, stage: Stage, kind: Translation, before, after, **ports) -> dict:
    hop = w.hop("router", w.b.arg[i], stage, Action.TRANSLATE, translation={
        "type": kind, "from": format_ip(False, int(before)), "to": format_ip(False, int(after)), **ports})
    return hop


def _lookup(tb, router, b, idx) -> np.ndarray:
    return trie.lookup_addr(tb.nodes, tb.rt.main4[router], tb.rt.main6[router], b.v6[idx],
                            b.dst_hi[idx], b.dst_lo[idx])


def _local(w, idx) -> None:
    """The router's own addresses: echo requests are answered, anything else refused."""
    tb, b = w.tb, w.b
    router = b.arg[idx]
    entry = _lookup(tb, router, b, idx)
    at = tb.rt.base[router] + np.maximum(entry, 0)
    local = (entry >= 0) & (tb.entry.kind[at] == topo.LOCAL)
    b.move(idx[~local], ROUTE)
    b.route_entry[idx[~local]] = entry[~local]  # the ROUTE step needs this very lookup
    idx, port = idx[local], tb.entry.port[at[local]]
    down = ~tb.port.admin[port]
    w.stop(idx[down], ADMIN_DOWN, lambda i: w.hop("router", b.arg[i], Stage.ROUTER_LOCAL, Action.DROP,
                                                  reason="router port holding the address is down"))
    idx = idx[~down]
    echo = is_echo_request(b, idx)
    b.end_kind[idx[echo]], b.end_slot[idx[echo]] = AT_ROUTER, b.arg[idx[echo]]
    w.stop(idx[echo], ACCEPTED, lambda i: w.hop("router", b.arg[i], Stage.ROUTER_LOCAL, Action.DELIVER,
                                                reason="the router answers echo requests"))
    w.stop(idx[~echo], DENIED_INGRESS, lambda i: w.hop("router", b.arg[i], Stage.ROUTER_LOCAL, Action.DENY,
                                                       reason="a router runs no services"))


def route_out(w, idx) -> None:
    """Longest-prefix match, gateway SNAT, the out port's and network's admin state."""
    tb, b = w.tb, w.b
    router = b.arg[idx]
    entry = b.route_entry[idx]
    unknown = np.flatnonzero(entry == -2)  # not looked up on entry (e.g. a reply answered here)
    if len(unknown):
        entry[unknown] = _lookup(tb, router[unknown], b, idx[unknown])
    b.route_entry[idx] = -2
    at = tb.rt.base[router] + np.maximum(entry, 0)
    entry = np.where((entry >= 0) & (tb.entry.kind[at] == topo.LOCAL), tb.entry.aux[at], entry)
    none = entry < 0
    w.stop(idx[none], NO_ROUTE, lambda i: w.hop("router", b.arg[i], Stage.ROUTE, Action.DROP, reason="no route"))
    keep = np.flatnonzero(~none)
    idx, router, entry = idx[keep], router[keep], entry[keep]
    at = tb.rt.base[router] + entry
    if w.tr is not None:
        for i, r, e in zip(idx, router, entry):
            text = tb.router_tables[tb.ids("rt")[r]].main.texts[e]
            w.tr.add(int(i), w.hop("router", r, Stage.ROUTE, Action.FORWARD, route=text))
    out = tb.entry.port[at].astype(np.int64)
    loose = out < 0
    w.stop(idx[loose], NO_ROUTE, lambda i: w.hop("router", b.arg[i], Stage.ROUTE, Action.DROP,
                                                 reason="next hop is not on a connected subnet"))
    keep = np.flatnonzero(~loose)
    idx, router, out, at = idx[keep], router[keep], out[keep], at[keep]
    idx, router, out, at = _scoped_out(w, idx, router, out, at)
    if b.record_visits and len(idx):
        _visit(b, idx, router)
    net = tb.port.net[out]
    up = tb.port.admin[out] & np.where(net >= 0, tb.net.admin[np.maximum(net, 0)], False)
    w.stop(idx[~up], ADMIN_DOWN, lambda i: w.hop("router", b.arg[i], Stage.ADMIN_STATE, Action.DROP,
                                                 reason="out port or network is down"))
    keep = np.flatnonzero(up)
    idx, router, net, at = idx[keep], router[keep], net[keep], at[keep]
    b.leaving[idx] = router
    via = tb.entry.kind[at] == topo.VIA
    hop = idx[via]
    b.hop_hi[hop], b.hop_lo[hop] = tb.entry.nh_hi[at[via]], tb.entry.nh_lo[at[via]]
    b.move(hop, NEXTHOP, net[via])
    b.move(idx[~via], DELIVER, net[~via])


def _scoped_out(w, idx, router, out, at):
    """Gateway SNAT, then address scopes (docs/semantics.md §4.8): a router forwards between
    subnets of one scope, unless it translates the packet 1:1 or SNATs it at its gateway.
    Leaving by the gateway into the packet's own (real) scope gets no default SNAT."""
    tb, b = w.tb, w.b
    v6 = b.v6[idx]
    snat = tb.port.gw[out] & ~b.translated[idx] & ~v6
    if not tb.scoped:  # one "no scope" scope everywhere: nothing to check
        _source_nat(w, idx[snat], router[snat], Stage.SNAT)
        return idx, router, out, at
    here, there = scope_of(tb, b.in_port[idx], v6), scope_of(tb, out, v6)
    same = here == there
    in_scope = same & (here >= 0)  # routed in one real scope: the upstream knows these addresses
    b.scope_free[_source_nat(w, idx[snat], router[snat], Stage.SNAT, ~in_scope[snat])] = True
    blocked = ~same & (here != -2) & ~b.scope_free[idx]
    scopes = scope_names(tb, idx[blocked], here[blocked], there[blocked]) if w.tr is not None else {}
    w.stop(idx[blocked], NO_ROUTE, lambda i: w.hop("router", b.arg[i], Stage.ROUTE, Action.DROP,
                                                   reason="address scopes differ", address_scopes=scopes[i]))
    keep = np.flatnonzero(~blocked)
    return idx[keep], router[keep], out[keep], at[keep]


def _visit(b, idx, router) -> None:
    b.visits.append({
        "idx": idx.copy(), "router": router.copy(),
        "in_src": (b.in_src[0][idx], b.in_src[1][idx]), "in_dst": (b.in_dst[0][idx], b.in_dst[1][idx]),
        "out_src": (b.src_hi[idx], b.src_lo[idx]), "out_dst": (b.dst_hi[idx], b.dst_lo[idx]),
        "in_dport": b.in_dport[idx]})


__all__ = ["enter_router", "route_out", "join", "scoped_gateway"]
