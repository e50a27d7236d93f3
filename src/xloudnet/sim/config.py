"""What a simulation run is asked to do: flows, duration, link settings. Plain dataclasses; the
JSON request is validated into these by ``xloudnet.analysis.capacity``.

Defaults (links and router uplinks have a capacity and a delay, docs/semantics.md §9):

- ``port`` links (a VM's NIC, one per direction: ``port:ID/tx`` and ``port:ID/rx``):
  10 Gbit/s, 50 µs;
- ``router`` links (a router's forwarding, ``router:ID``, shared by every flow crossing it):
  10 Gbit/s, 50 µs;
- ``router_uplink`` links (a router's gateway to the outside, ``uplink:ID/out`` and
  ``uplink:ID/in``, shared by every flow leaving / entering the cloud through it):
  1 Gbit/s, 1 ms;
- every queue (each flow's FIFO on a link, the ingress shaper's FIFO): 1000 packets, tail drop.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LinkSpec:
    capacity_kbps: float
    delay_ms: float
    queue_packets: int = 1000


LINK_DEFAULTS = {
    "port": LinkSpec(10_000_000.0, 0.05),
    "router": LinkSpec(10_000_000.0, 0.05),
    "router_uplink": LinkSpec(1_000_000.0, 1.0),
}
SHAPER_QUEUE_PACKETS = 1000


@dataclass(frozen=True)
class FlowSpec:
    """One traffic flow: where (a reachability query) and how much (rate, size, pattern)."""

    source: dict
    destination: dict
    protocol: str | int
    rate_kbps: float
    destination_port: int | None = None
    packet_size: int = 1500           # bytes on the IP layer (headers included, as RFC 2697 counts)
    pattern: str = "cbr"              # cbr | poisson | onoff
    on_ms: float = 100.0              # onoff only: burst length at rate_kbps
    off_ms: float = 100.0             # onoff only: silence between bursts
    dscp: int = 0                     # DSCP the VM sends (egress dscp_marking rewrites it)
    start_s: float = 0.0
    name: str | None = None

    def query(self) -> dict:
        q = {"source": self.source, "destination": self.destination, "protocol": self.protocol}
        if self.destination_port is not None:
            q["destination_port"] = self.destination_port
        return q


@dataclass(frozen=True)
class SimConfig:
    flows: tuple[FlowSpec, ...]
    duration_s: float
    links: dict = field(default_factory=dict)  # kind or link id → {field: value} (overrides)
    shaper_queue_packets: int = SHAPER_QUEUE_PACKETS
    bins: int = 50                              # time-series bins over the run

    def link_spec(self, link_id: str, kind: str) -> LinkSpec:
        """The kind's default, overridden field by field by ``links[kind]`` then ``links[link_id]``."""
        fields = dict(vars(LINK_DEFAULTS[kind]))
        fields.update(self.links.get(kind) or {})
        fields.update(self.links.get(link_id) or {})
        return LinkSpec(**fields)
