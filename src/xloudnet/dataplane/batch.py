"""A batch of packets in flight: header columns plus the walk state of each packet.

Headers: family (``v6``), source and destination as ``hi``/``lo`` uint64 columns, protocol
number, source/destination port (-1 when the protocol has none), ICMP type/code (-1 likewise).
Only routers rewrite headers: addresses (NAT) and, for port forwarding, the destination port.
Walk state: the operation each packet is waiting for (``op``) and its arguments, the TTL, the
disposition once decided (-1 while in flight), where it ended, the router it last left by, and
for replies the request they answer (``req``) and the connection seen at the source port.
"""

from __future__ import annotations

import numpy as np

from ..model import services
from ..model.dispositions import REACHABLE, Disposition
from ..model.protocols import ICMP_ECHO_REQUEST, ICMP_OF_VERSION, ICMP_PROTOCOLS, PORT_PROTOCOLS

DISPOSITIONS = [d.value for d in (
    Disposition.ACCEPTED, Disposition.EXITS_NETWORK, Disposition.DENIED_EGRESS,
    Disposition.DENIED_INGRESS, Disposition.SPOOFED, Disposition.NO_ROUTE,
    Disposition.NEIGHBOR_UNREACHABLE, Disposition.LOOP, Disposition.ADMIN_DOWN)]
CODE = {name: i for i, name in enumerate(DISPOSITIONS)}
ACCEPTED, EXITS, DENIED_EGRESS, DENIED_INGRESS, SPOOFED, NO_ROUTE, UNREACHABLE, LOOP, ADMIN_DOWN = range(9)
REACHABLE_CODES = tuple(sorted(CODE[d] for d in REACHABLE))  # the model's one reachable set, as codes

SEND, OUTSIDE, DELIVER, NEXTHOP, ROUTER, ROUTE = 1, 2, 3, 4, 5, 6
AT_PORT, AT_ROUTER, AT_EXTERNAL = 1, 2, 3
TTL = 64

_PORT_PROTOS = np.zeros(256, dtype=bool)
_PORT_PROTOS[list(PORT_PROTOCOLS)] = True
_ICMP_PROTOS = np.zeros(256, dtype=bool)
_ICMP_PROTOS[list(ICMP_PROTOCOLS)] = True
HEADERS = ("v6", "src_hi", "src_lo", "dst_hi", "dst_lo", "proto", "sport", "dport", "itype", "icode")


class Batch:
    """Columns of a packet batch (see the module docstring)."""

    def __init__(self, n: int):
        self.n = n
        self.v6 = np.zeros(n, dtype=bool)
        for name in ("src_hi", "src_lo", "dst_hi", "dst_lo"):
            setattr(self, name, np.zeros(n, dtype=np.uint64))
        for name in ("proto", "sport", "dport", "itype", "icode"):
            setattr(self, name, np.full(n, -1, dtype=np.int64))
        self.op = np.zeros(n, dtype=np.int8)
        self.arg = np.full(n, -1, dtype=np.int64)  # port / network / router slot
        self.in_port = np.full(n, -1, dtype=np.int64)  # ROUTER: the port it enters by
        self.hop_hi = np.zeros(n, dtype=np.uint64)  # NEXTHOP: the next-hop address
        self.hop_lo = np.zeros(n, dtype=np.uint64)
        self.translated = np.zeros(n, dtype=bool)  # ROUTE: this router already translated
        self.scope_free = np.zeros(n, dtype=bool)  # ROUTE: 1:1 NAT here exempts it from address scopes
        self.route_entry = np.full(n, -2, dtype=np.int64)  # ROUTE: looked up on entry (-2: not)
        self.in_src = (np.zeros(n, dtype=np.uint64), np.zeros(n, dtype=np.uint64))
        self.in_dst = (np.zeros(n, dtype=np.uint64), np.zeros(n, dtype=np.uint64))
        self.in_dport = np.full(n, -1, dtype=np.int64)  # ROUTE: destination port on entry
        self.ttl = np.full(n, TTL, dtype=np.int64)
        self.disp = np.full(n, -1, dtype=np.int8)
        self.end_kind = np.zeros(n, dtype=np.int8)  # AT_PORT / AT_ROUTER / AT_EXTERNAL
        self.end_slot = np.full(n, -1, dtype=np.int64)
        self.leaving = np.full(n, -1, dtype=np.int64)  # router it last left by
        self.exit_net = np.full(n, -1, dtype=np.int64)
        self.est_send = np.zeros(n, dtype=bool)  # reply: conntrack admits it at the sender
        self.is_reply = np.zeros(n, dtype=bool)
        self.ct_port = np.full(n, -1, dtype=np.int64)  # reply: the request's source port
        self.ct_src = (np.zeros(n, dtype=np.uint64), np.zeros(n, dtype=np.uint64))
        self.ct_dst = (np.zeros(n, dtype=np.uint64), np.zeros(n, dtype=np.uint64))
        self.req = np.arange(n)  # reply: index of its request in the request batch
        self.visits: list[dict] = []  # per ROUTE step: router and addresses in/out (requests)
        self.record_visits = False
        self._svc = None  # service keys, once asked for (``service``)

    def service(self, idx: np.ndarray) -> np.ndarray:
        """The service key of packets ``idx`` (``model.services``). Only port forwarding changes
        a header besides addresses (``set_dport`` keeps the keys in step), so the keys of the
        whole batch are computed once."""
        if self._svc is None:
            self._svc = self.service_keys(slice(None))
        return self._svc[idx]

    def set_service(self, keys: np.ndarray) -> None:
        """Service keys of the whole batch, when the builder knows them cheaper."""
        self._svc = keys

    def service_keys(self, idx) -> np.ndarray:
        """The service keys of packets ``idx``, computed from the header columns."""
        proto = np.clip(self.proto[idx], 0, 255)
        value = np.where(_PORT_PROTOS[proto], np.maximum(self.dport[idx], 0), 0)
        icmp = _ICMP_PROTOS[proto]
        value = np.where(icmp, services.icmp_value(np.maximum(self.itype[idx], 0), np.maximum(self.icode[idx], 0)),
                         value)
        key = services.pack(self.v6[idx].astype(np.int64), proto, value & services.VALUE_MASK)
        return key.astype(np.uint64)

    def set_dport(self, idx, ports) -> None:
        """Port forwarding rewrote destination ports: keep the service keys in step."""
        self.dport[idx] = ports
        if self._svc is not None:
            self._svc = self._svc.copy()
            self._svc[idx] = self.service_keys(idx)

    def headers(self, i: int) -> dict:
        """One packet's headers as plain Python values."""
        return {name: getattr(self, name)[i].item() for name in HEADERS}

    def move(self, idx, op: int, arg=None) -> None:
        self.op[idx] = op
        if arg is not None:
            self.arg[idx] = arg

    def stop(self, idx, code: int) -> None:
        self.disp[idx] = code
        self.op[idx] = 0


def is_echo_request(b: Batch, idx) -> np.ndarray:
    """ICMP echo request of the packet's family (any code): what a router answers. ICMP of the
    other family (protocol 58 in IPv4, 1 in IPv6) is not an echo request."""
    v6 = b.v6[idx]
    return ((b.proto[idx] == np.where(v6, ICMP_OF_VERSION[6], ICMP_OF_VERSION[4]))
            & (b.itype[idx] == np.where(v6, ICMP_ECHO_REQUEST[6], ICMP_ECHO_REQUEST[4])))


def reachable_codes(codes: np.ndarray) -> np.ndarray:
    """Which disposition codes count as reachable (``model.REACHABLE``)."""
    return np.isin(codes, REACHABLE_CODES)


def port_protocol(proto: np.ndarray) -> np.ndarray:
    return _PORT_PROTOS[np.clip(proto, 0, 255)]


def icmp_protocol(proto: np.ndarray) -> np.ndarray:
    return _ICMP_PROTOS[np.clip(proto, 0, 255)]
