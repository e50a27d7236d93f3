"""The vectorised walk: the packet path of docs/semantics.md §4 over a whole batch.

Every packet waits for one operation (``SEND`` from a port, ``OUTSIDE`` entry from beyond an
external network, ``DELIVER`` on a network, ``NEXTHOP`` to a next hop on a network, ``ROUTER``
entry, ``ROUTE`` lookup). Each round runs every operation once over all packets waiting for it
(numpy masks, no per-packet loop); a packet leaves the loop with a disposition. Rounds are
bounded by the TTL (64 routers), so the walk over the batch iterates per hop, not per packet.

An optional tracer receives the hops of the (few) traced packets; it is never called in batch
evaluation, so explaining one flow runs exactly the code that decides the batch.
"""

from __future__ import annotations

import numpy as np

from ..model.dispositions import EXTERNAL, Action, Stage
from . import groups as sg
from . import topology as topo
from . import trie
from .addresses import in_range
from .batch import (ACCEPTED, ADMIN_DOWN, AT_EXTERNAL, AT_PORT, DELIVER, DENIED_EGRESS,
                    DENIED_INGRESS, EXITS, NEXTHOP, NO_ROUTE, OUTSIDE, ROUTE, ROUTER, SEND,
                    SPOOFED, UNREACHABLE, Batch)
from .qos import port_qos
from .routing import enter_router, route_out, scoped_gateway
from .topology import owner_lookup

MAX_ROUNDS = 4 * 64 + 16


def port_stateful(tb, port) -> np.ndarray:
    """Connection tracking applies unless one of the port's groups is stateless."""
    groups = tb.port.groups[port]
    return np.all((groups < 0) | tb.grp.stateful[np.maximum(groups, 0)], axis=1)


class Walk:
    """Runs a batch to its dispositions (``run``); ``tracer`` records hops when given."""

    def __init__(self, tb, batch: Batch, tracer=None, request: Batch | None = None):
        self.tb, self.b, self.tr, self.request = tb, batch, tracer, request

    def run(self) -> Batch:
        handlers = ((SEND, self.send), (OUTSIDE, self.outside), (DELIVER, self.deliver),
                    (NEXTHOP, self.nexthop), (ROUTER, self.router), (ROUTE, self.route))
        b = self.b
        for _ in range(MAX_ROUNDS):
            if not (b.disp < 0).any():
                break
            for op, handler in handlers:
                idx = np.flatnonzero((b.op == op) & (b.disp < 0))
                if len(idx):
                    handler(idx)
        return b

    # -- tracing -----------------------------------------------------------------------------
    def note(self, idx, make) -> None:
        """Give the tracer a hop per traced packet: ``make(i)`` returns the hop dict."""
        if self.tr is not None:
            for i in np.atleast_1d(idx):
                self.tr.add(int(i), make(int(i)))

    def stop(self, idx, code: int, make=None) -> None:
        if len(idx):
            self.b.stop(idx, code)
            if make is not None:
                self.note(idx, make)

    # -- docs/semantics.md §4.1: a port sends -------------------------------------------------
    def send(self, idx) -> None:
        tb, b = self.tb, self.b
        port = b.arg[idx]
        net = tb.port.net[port]
        self.note(idx, lambda i: self.hop("port", b.arg[i], Stage.ENTER, Action.FORWARD))
        up = tb.port.admin[port] & np.where(net >= 0, tb.net.admin[np.maximum(net, 0)], False)
        self.stop(idx[~up], ADMIN_DOWN, lambda i: self.hop("port", b.arg[i], Stage.ADMIN_STATE, Action.DROP,
                                                           reason="source port or network is down"))
        idx = idx[up]
        filtered = tb.port.filtered[b.arg[idx]]
        owned = self.owns(b.arg[idx], idx)
        bad = filtered & ~owned
        self.stop(idx[bad], SPOOFED, lambda i: self.hop("port", b.arg[i], Stage.ANTI_SPOOFING, Action.DROP,
                                                        reason="source address not owned"))
        idx = idx[~bad]
        self.note(idx[tb.port.filtered[b.arg[idx]]],
                  lambda i: self.hop("port", b.arg[i], Stage.ANTI_SPOOFING, Action.PERMIT))
        idx = self.security(idx, sg.EGRESS)
        self.qos(idx, "egress")
        self.forward(idx)

    def owns(self, port, idx) -> np.ndarray:
        """Anti-spoofing: the source is a fixed IP or lies in an allowed address pair."""
        first = self.first_fixed(port, idx)
        rest = np.flatnonzero(~first)
        if len(rest):  # the few not sending from their first fixed IP
            first[rest] = self._owns(port[rest], idx[rest])
        return first

    def first_fixed(self, port, idx) -> np.ndarray:
        """Sent from the port's first fixed IP (the usual case, checked without 2-D columns)."""
        tb, b = self.tb, self.b
        v6 = b.v6[idx]
        if not v6.any():
            return tb.port.first4[port] == b.src_lo[idx]
        return (tb.port.fx_valid[port, 0] & (tb.port.fx_lo[port, 0] == b.src_lo[idx])
                & (tb.port.fx_hi[port, 0] == b.src_hi[idx]) & (tb.port.fx_v6[port, 0] == v6))

    def _owns(self, port, idx) -> np.ndarray:
        tb, b = self.tb, self.b
        v6, hi, lo = b.v6[idx, None], b.src_hi[idx, None], b.src_lo[idx, None]
        fixed = tb.port.fx_valid[port] & (tb.port.fx_v6[port] == v6) & (
            tb.port.fx_hi[port] == hi) & (tb.port.fx_lo[port] == lo)
        pairs = tb.port.pr_valid[port] & (tb.port.pr_v6[port] == v6) & in_range(
            hi, lo, tb.port.pr_fhi[port], tb.port.pr_flo[port], tb.port.pr_lhi[port], tb.port.pr_llo[port])
        return fixed.any(axis=1) | pairs.any(axis=1)

    def security(self, idx, direction: int) -> np.ndarray:
        """Groups of the port in ``arg``; returns the packets let through."""
        tb, b = self.tb, self.b
        port = b.arg[idx]
        check = tb.port.filtered[port]
        stage = Stage.EGRESS_SECURITY_GROUP if direction == sg.EGRESS else Stage.INGRESS_SECURITY_GROUP
        if direction == sg.EGRESS:
            est = check & b.est_send[idx]
        else:
            est = check & self.established_here(idx, port)
        self.note(idx[est], lambda i: self.hop("port", b.arg[i], stage, Action.PERMIT, conntrack="established"))
        ask = np.flatnonzero(check & ~est)
        if not len(ask):
            return idx
        sel = idx[ask]
        hi, lo = (b.dst_hi, b.dst_lo) if direction == sg.EGRESS else (b.src_hi, b.src_lo)
        allowed, gd, rule = sg.port_verdict(tb, b.arg[sel], direction, b.v6[sel], b.service(sel),
                                            hi[sel], lo[sel])
        code = DENIED_EGRESS if direction == sg.EGRESS else DENIED_INGRESS
        self.stop(sel[~allowed], code, lambda i: self.hop("port", b.arg[i], stage, Action.DENY,
                                                          reason="no rule matched (default deny)"))
        if self.tr is not None:
            for i, g, r in zip(sel[allowed], gd[allowed], rule[allowed]):
                self.tr.add(int(i), self.hop("port", b.arg[i], stage, Action.PERMIT, rule_id=self.rule_id(g, r)))
        keep = np.ones(len(idx), dtype=bool)
        keep[ask[~allowed]] = False
        return idx[keep]

    def qos(self, idx, direction: str) -> None:
        """§4.3, in traces only: the port's QoS policy in this direction (the DSCP
        mark it sets, the limits that apply). The analyser does not police, so: PERMIT."""
        if self.tr is None:
            return
        ids = self.tb.ids("port")
        stage = Stage.QOS_EGRESS if direction == "egress" else Stage.QOS_INGRESS
        for i in idx:
            applied = port_qos(self.tb, ids[self.b.arg[i]], direction)
            if applied is not None:
                self.tr.add(int(i), self.hop("port", self.b.arg[i], stage, Action.PERMIT, qos=applied))

    def established_here(self, idx, port) -> np.ndarray:
        """A reply reaching its request's source port with the connection's addresses."""
        b = self.b
        if not b.is_reply[idx].any():  # a request batch: nothing to skip, no columns to read
            return np.zeros(len(idx), dtype=bool)
        return (b.is_reply[idx] & (b.ct_port[idx] == port) & port_stateful(self.tb, port)
                & (b.src_hi[idx] == b.ct_dst[0][idx]) & (b.src_lo[idx] == b.ct_dst[1][idx])
                & (b.dst_hi[idx] == b.ct_src[0][idx]) & (b.dst_lo[idx] == b.ct_src[1][idx]))

    def forward(self, idx) -> None:
        """§4.4: on-link → deliver at L2; else the source subnet's routes to a next hop."""
        tb, b = self.tb, self.b
        net = tb.port.net[b.arg[idx]]
        b.leaving[idx] = -1
        _owner, link = owner_lookup(tb, net, b.v6[idx], b.dst_hi[idx], b.dst_lo[idx])
        self.note(idx[link], lambda i: self.hop("port", b.arg[i], Stage.FORWARD, Action.FORWARD))
        b.move(idx[link], DELIVER, net[link])
        idx, net = idx[~link], net[~link]
        sub = self.source_subnet(idx)
        safe = np.maximum(sub, 0)
        entry = trie.lookup_addr(tb.nodes, tb.sub.rt4[safe], tb.sub.rt6[safe], b.v6[idx],
                                 b.dst_hi[idx], b.dst_lo[idx])
        entry = np.where(sub >= 0, entry, -1)
        none = entry < 0
        self.stop(idx[none], NO_ROUTE, lambda i: self.hop("port", b.arg[i], Stage.FORWARD, Action.DROP, reason="no route"))
        idx, net, sub, entry = idx[~none], net[~none], sub[~none], entry[~none]
        at = tb.sub.base[sub] + entry
        b.hop_hi[idx], b.hop_lo[idx] = tb.entry.nh_hi[at], tb.entry.nh_lo[at]
        if self.tr is not None:
            for i, s, e in zip(idx, sub, entry):
                route = self.tb.subnet_tables[self.tb.ids("sub")[s]].texts[e]
                self.tr.add(int(i), self.hop("port", b.arg[i], Stage.FORWARD, Action.FORWARD, route=route))
        b.move(idx, NEXTHOP, net)

    def source_subnet(self, idx) -> np.ndarray:
        """The subnet of the fixed IP sent from, else the port's fallback of the family."""
        tb, b = self.tb, self.b
        port = b.arg[idx]
        out = np.where(self.first_fixed(port, idx), tb.port.fx_sub[port, 0], -2)
        rest = np.flatnonzero(out == -2)
        if len(rest):
            port, idx = port[rest], idx[rest]
            match = tb.port.fx_valid[port] & (tb.port.fx_v6[port] == b.v6[idx, None]) & (
                tb.port.fx_hi[port] == b.src_hi[idx, None]) & (tb.port.fx_lo[port] == b.src_lo[idx, None])
            fixed_sub = tb.port.fx_sub[port, match.argmax(axis=1)]
            fallback = np.where(b.v6[idx], tb.port.fallback6[port], tb.port.fallback4[port])
            out[rest] = np.where(match.any(axis=1), fixed_sub, fallback)
        return out

    # -- entry from beyond an external network --------------------------------------------------
    def outside(self, idx) -> None:
        tb, b = self.tb, self.b
        net = b.arg[idx]
        down = ~tb.net.admin[net]
        self.stop(idx[down], ADMIN_DOWN, lambda i: self.hop("network", b.arg[i], Stage.ADMIN_STATE, Action.DROP,
                                                            reason="external network is down"))
        idx, net = idx[~down], net[~down]
        b.leaving[idx] = -1
        _owner, link = owner_lookup(tb, net, b.v6[idx], b.dst_hi[idx], b.dst_lo[idx])
        self.note(idx, lambda i: {"node": EXTERNAL, "stage": Stage.ENTER, "action": Action.FORWARD})
        b.move(idx[link], DELIVER)
        idx, net = idx[~link], net[~link]
        gateway = scoped_gateway(self, idx, net)
        routed = gateway >= 0
        b.in_port[idx[routed]] = gateway[routed]
        b.move(idx[routed], ROUTER, tb.port.router[gateway[routed]])
        self.stop(idx[~routed], NO_ROUTE, lambda i: {"node": EXTERNAL, "stage": Stage.FORWARD, "action": Action.DROP,
                                                     "reason": "the upstream does not route tenant space"})

    # -- §4.6-4.7: on a network -----------------------------------------------------------------
    def deliver(self, idx) -> None:
        tb, b = self.tb, self.b
        net = b.arg[idx]
        owner, _link = owner_lookup(tb, net, b.v6[idx], b.dst_hi[idx], b.dst_lo[idx])
        self.stop(idx[owner == topo.NOBODY], UNREACHABLE, lambda i: self.hop(
            "network", b.arg[i], Stage.DELIVER, Action.DROP, reason="no port holds the address"))
        self.exit(idx[owner == topo.UPSTREAM], net[owner == topo.UPSTREAM])
        fip = (owner >= 0) & (owner % 2 == 1)
        router = owner[fip] // 2
        b.in_port[idx[fip]] = self.tb.rt.gw_port[router]
        b.move(idx[fip], ROUTER, router)
        port = np.where(owner >= 0, owner // 2, -1)
        to_router = (owner >= 0) & (owner % 2 == 0) & tb.port.rport[np.maximum(port, 0)]
        b.in_port[idx[to_router]] = port[to_router]
        b.move(idx[to_router], ROUTER, tb.port.router[port[to_router]])
        arrive = (owner >= 0) & (owner % 2 == 0) & ~to_router
        self.arrive(idx[arrive], port[arrive])

    def arrive(self, idx, port) -> None:
        """§4.7: the destination port's admin state and ingress groups, then ACCEPTED."""
        tb, b = self.tb, self.b
        b.arg[idx] = port
        b.end_kind[idx], b.end_slot[idx] = AT_PORT, port  # also for refusals: who refused
        self.note(idx, lambda i: self.hop("port", b.arg[i], Stage.ENTER, Action.FORWARD))
        down = ~tb.port.admin[port]
        self.stop(idx[down], ADMIN_DOWN, lambda i: self.hop("port", b.arg[i], Stage.ADMIN_STATE, Action.DROP,
                                                            reason="destination port is down"))
        idx = self.security(idx[~down], sg.INGRESS)
        self.qos(idx, "ingress")
        self.stop(idx, ACCEPTED, lambda i: self.hop("port", b.arg[i], Stage.DELIVER, Action.DELIVER))

    def exit(self, idx, net) -> None:
        b = self.b
        b.exit_net[idx] = net
        b.end_kind[idx] = AT_EXTERNAL
        self.stop(idx, EXITS, lambda i: {"node": EXTERNAL, "stage": Stage.EXIT, "action": Action.FORWARD})

    def nexthop(self, idx) -> None:
        """Hand the packet to the next hop: a router port, or the upstream; else NO_ROUTE."""
        tb, b = self.tb, self.b
        net = b.arg[idx]
        owner, _link = owner_lookup(tb, net, b.v6[idx], b.hop_hi[idx], b.hop_lo[idx])
        port = np.where((owner >= 0) & (owner % 2 == 0), owner // 2, -1)
        router = (port >= 0) & tb.port.rport[np.maximum(port, 0)]
        b.in_port[idx[router]] = port[router]
        b.move(idx[router], ROUTER, tb.port.router[port[router]])
        up = owner == topo.UPSTREAM
        self.exit(idx[up], net[up])
        self.stop(idx[~router & ~up], NO_ROUTE, lambda i: self.hop(
            "network", b.arg[i], Stage.FORWARD, Action.DROP, reason="next hop is not a router"))

    # -- §4.5: routers (``routing.py``) ---------------------------------------------------------
    def router(self, idx) -> None:
        enter_router(self, idx)

    def route(self, idx) -> None:
        route_out(self, idx)

    # -- naming --------------------------------------------------------------------------------
    def hop(self, kind: str, slot, stage: Stage, action: Action, **extra) -> dict:
        family = {"port": "port", "network": "net", "router": "rt"}[kind]
        ids = self.tb.ids(family)
        name = ids[int(slot)] if 0 <= int(slot) < len(ids) else None
        return {"node": f"{kind}:{name}", "stage": stage, "action": action, **extra}

    def rule_id(self, gd, rule) -> str | None:
        gid = self.tb.ids("grp")[int(gd) // 2]
        gdir = self.tb.gdirs.get((gid, int(gd) % 2))
        return gdir.rule_ids[int(rule)] if gdir is not None and rule >= 0 else None

