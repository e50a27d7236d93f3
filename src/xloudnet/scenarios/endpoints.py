"""Selectors → flow ends on a provisioned plane.

An end is ``{"end": <reachability endpoint>, "label": str, "port": record | None}``. Port
selectors give every endpoint port (``device_owner`` not ``network:*``) matching all their keys;
address selectors give one external host. ``internet`` is an external host on the first external
network, at an address inside no subnet of the cloud (the first free one of 198.51.100.1,
192.0.2.1, 8.8.8.8 — or 2001:db8:ffff::1, 2001:4860::8888 for IPv6).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .provision import Provisioned
from .schema import Selector

INTERNET = {4: ("198.51.100.1", "192.0.2.1", "8.8.8.8", "1.1.1.1"),
            6: ("2001:db8:ffff::1", "2001:4860::8888", "2606:4700::1111")}


@dataclass(frozen=True)
class End:
    end: dict
    label: str
    port: dict | None = None
    roaming: bool = False  # an outside host that enters wherever its destination is reachable from

    @property
    def outside(self) -> bool:
        return self.port is None


class Endpoints:
    """Selector resolution over one provisioned plane."""

    def __init__(self, provisioned: Provisioned):
        self.p = provisioned
        store = provisioned.plane.store
        self.ports = [r for r in store.table("ports").values() if not r["device_owner"].startswith("network:")]
        self.ports.sort(key=lambda r: (r["name"], r["id"]))
        self.subnets = [ipaddress.ip_network(s["cidr"]) for s in store.table("subnets").values()]
        self.networks = store.table("networks")
        self.fips = {}
        for fip in store.table("floatingips").values():
            if fip.get("port_id"):
                self.fips.setdefault(fip["port_id"], fip)
        self.externals = sorted(nid for nid, n in self.networks.items() if n.get("router:external"))

    # --- selectors ------------------------------------------------------------------------------
    def select(self, selector: Selector | str, family: int = 4) -> list[End]:
        if isinstance(selector, str):
            selector = self.parse(selector)
        if selector.internet:
            return [self.internet(family, self._network(selector.external_network))]
        if selector.ip_address is not None:
            end = {"ip_address": selector.ip_address}
            net = self._network(selector.external_network)
            if net:
                end["network_id"] = net
            return [End(end, selector.ip_address)]
        return [End({"port_id": r["id"]}, r["name"] or r["id"], r) for r in self.ports if self._matches(selector, r)]

    def select_all(self) -> list[End]:
        """Every endpoint port."""
        return [End({"port_id": r["id"]}, r["name"] or r["id"], r) for r in self.ports]

    @staticmethod
    def parse(text: str) -> Selector:
        if text == "internet":
            return Selector(internet=True)
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return Selector(port=text)
        if "/" in text and network.num_addresses > 1:
            return Selector(cidr=text)
        return Selector(ip_address=str(network.network_address))

    def _network(self, ref: str | None) -> str | None:
        return self.p.id_of("network", ref) if ref else None

    def _matches(self, s: Selector, r: dict) -> bool:
        if s.port is not None and r["id"] != self.p.id_of("port", s.port, s.project):
            return False
        if s.tag is not None and s.tag not in (r.get("tags") or ()):
            return False
        if s.security_group is not None and self.p.id_of("security group", s.security_group, s.project) \
                not in (r.get("security_groups") or ()):
            return False
        if s.network is not None and r["network_id"] != self.p.id_of("network", s.network, s.project):
            return False
        if s.project is not None and r["project_id"] != self.p.projects.get(s.project):
            return False
        if s.cidr is not None:
            net = ipaddress.ip_network(s.cidr, strict=False)
            if not any(ipaddress.ip_address(f["ip_address"]) in net for f in r["fixed_ips"]):
                return False
        return True

    def internet(self, family: int = 4, network_id: str | None = None) -> End:
        address = next((a for a in INTERNET[family] if not self.in_cloud(a)), INTERNET[family][-1])
        end = {"ip_address": address}
        net = network_id or (self.externals[0] if self.externals else None)
        if net:
            end["network_id"] = net
        return End(end, "internet" if family == 4 else "internet (IPv6)", roaming=network_id is None)

    def in_cloud(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        return any(ip.version == s.version and ip in s for s in self.subnets)

    # --- pairs ---------------------------------------------------------------------------------
    def toward(self, source: End, destination: End) -> dict:
        """The destination as the source addresses it: an outside host reaches a port by its
        floating IP (when it has one)."""
        if source.outside and destination.port is not None and ":" not in source.end["ip_address"]:
            fip = self.fips.get(destination.port["id"])  # floating IPs are IPv4 only
            if fip is not None:
                return {"ip_address": fip["floating_ip_address"]}
        return destination.end

    def entering(self, source: End, destination: End) -> dict:
        """The source end; ``internet`` enters on the external network its destination is
        reached from (the floating IP's, or the port's own external network)."""
        if not source.roaming or destination.port is None:
            return source.end
        port = destination.port
        fip = self.fips.get(port["id"]) if ":" not in source.end["ip_address"] else None
        network = fip["floating_network_id"] if fip else (
            port["network_id"] if self.networks[port["network_id"]].get("router:external") else None)
        return {**source.end, "network_id": network} if network else source.end

    def family(self, end: End) -> set[int]:
        if end.port is None:
            return {ipaddress.ip_address(end.end["ip_address"]).version}
        return {ipaddress.ip_address(f["ip_address"]).version for f in end.port["fixed_ips"]}


__all__ = ["Endpoints", "End", "INTERNET"]
