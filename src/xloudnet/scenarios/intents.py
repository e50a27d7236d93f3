"""Checking ``expect:`` intents exactly, each failure with a counter-example flow and its trace.

- ``reach``: every (from, to) pair's verdict is reachable (ACCEPTED / EXITS_NETWORK), or equals
  the given ``disposition``; without a protocol, some service gets through. Verdicts of all
  pairs are computed as one vectorised batch.
- ``isolated``: every pair's exact allowed set is empty.
- ``only``: every pair's exact allowed set equals ``services``.
- ``exposure``: the union over external hosts of what reaches each endpoint port (through its
  floating IP, or directly on an external network) is within / equal to the listed services;
  through a floating IP's port forwarding, the services are the external ports the outside uses.
  External sources are exact: one host per class of the ingress rules' ``remote_ip_prefix``
  cells (no rule can tell two hosts of a class apart).
- ``qos``: a ``traffic:`` flow's delivered throughput, loss ratio and p99 latency.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..model.dispositions import REACHABLE, Disposition
from . import services as svc
from .analysis_adapter import Analyser, QueryError
from .endpoints import End, Endpoints
from .schema import Intent

PASS, FAIL, XFAIL, XPASS, ERROR = "pass", "fail", "xfail", "xpass", "error"
SETTLED = (Disposition.NO_ROUTE, Disposition.NEIGHBOR_UNREACHABLE, Disposition.LOOP,  # whatever the service
           Disposition.ADMIN_DOWN, Disposition.SPOOFED)


@dataclass
class Result:
    """One intent's outcome."""

    name: str
    kind: str
    status: str
    summary: str
    checked: int = 0                    # flows or pairs examined
    counterexample: dict | None = None  # {"from", "to", "query", "answer"} — the explained flow
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "status": self.status, "summary": self.summary,
                "checked": self.checked, "counterexample": self.counterexample, "details": self.details}


class Checker:
    """Checks intents against one provisioned, compiled plane."""

    def __init__(self, analyser: Analyser, endpoints: Endpoints, sim_result: dict | None = None,
                 progress: Callable[[float], None] | None = None):
        self.a, self.ep = analyser, endpoints
        self.sim_result = sim_result
        self.progress = progress or (lambda fraction: None)  # within the intent being checked

    def _each(self, items: list) -> Iterator:
        """``items``, reporting progress every few percent (pair loops can be long)."""
        step = max(1, len(items) // 50)
        for k, item in enumerate(items):
            if k % step == 0:
                self.progress(k / len(items))
            yield item

    def check(self, intent: Intent) -> Result:
        method: Callable[[Any], tuple[bool, str, int, dict | None, dict]] = getattr(self, f"_{intent.kind}")
        start = time.perf_counter()
        try:
            held, summary, checked, counter, details = method(intent.spec)
        except (QueryError, ValueError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            return Result(intent.name, intent.kind, ERROR, f"cannot be checked: {message}")
        details = {**details, "elapsed_s": round(time.perf_counter() - start, 6)}
        if intent.expect_fail:
            status = XPASS if held else XFAIL
        else:
            status = PASS if held else FAIL
        return Result(intent.name, intent.kind, status, summary, checked, counter, details)

    # --- helpers ------------------------------------------------------------------------------
    def _pairs(self, spec, family: int | None = None) -> list[tuple[End, End]]:
        fam = family or 4
        sources, destinations = self.ep.select(spec.from_, fam), self.ep.select(spec.to, fam)
        if not sources:
            raise ValueError("'from' selects no endpoint")
        if not destinations:
            raise ValueError("'to' selects no endpoint")
        return [(s, d) for s in sources for d in destinations if s.end != d.end]

    def _query(self, source: End, destination: End, extra: dict) -> dict:
        query = {"source": self.ep.entering(source, destination), "destination": self.ep.toward(source, destination)}
        query.update({k: v for k, v in extra.items() if v is not None})
        return query

    def _counter(self, source: End, destination: End, query: dict) -> dict:
        return {"from": source.label, "to": destination.label, "query": query, "answer": self.a.explain(query)}

    @staticmethod
    def _family(spec) -> int | None:
        return {"IPv4": 4, "IPv6": 6}.get(getattr(spec, "ethertype", None) or "")

    # --- kinds ----------------------------------------------------------------------------------
    def _reach(self, spec):
        pairs = self._pairs(spec, self._family(spec))
        extra = {"protocol": spec.protocol, "destination_port": spec.port, "icmp_type": spec.icmp_type,
                 "icmp_code": spec.icmp_code, "ethertype": spec.ethertype}
        wanted = spec.disposition
        expectation = wanted or "reachable"
        if spec.protocol is None:
            for s, d in self._each(pairs):  # no protocol: "some service" needs each pair's allowed set
                query = self._query(s, d, extra)
                answer = self.a.explain(query)
                back = (answer.get("return") or {}).get("disposition")
                ok = (bool(self._reached(d, answer)) and back in (None, *REACHABLE)) if wanted is None \
                    else answer["disposition"] == wanted
                if not ok:
                    return False, f"{s.label} → {d.label}: {answer['disposition']}, expected {expectation}", \
                        len(pairs), {"from": s.label, "to": d.label, "query": query, "answer": answer}, {}
            return True, f"{len(pairs)} pair(s) {expectation}", len(pairs), None, {}
        queries = [self._query(s, d, extra) for s, d in pairs]
        verdicts = self.a.verdicts(queries)

        def holds(pair, verdict) -> bool:
            if wanted is not None:
                return verdict["disposition"] == wanted
            # A port is reached when the packet is delivered (a packet leaving the cloud is not),
            # and a connection works only when its reply gets back too (stateless groups).
            there = verdict["disposition"] == Disposition.ACCEPTED if pair[1].port is not None else verdict["reachable"]
            return there and verdict["return_disposition"] in (None, *REACHABLE)

        for (s, d), query, verdict in zip(pairs, queries, verdicts):
            if not holds((s, d), verdict):
                bad = sum(1 for pair, v in zip(pairs, verdicts) if not holds(pair, v))
                seen = verdict["disposition"]
                if verdict["disposition"] in REACHABLE and wanted is None and verdict["return_disposition"]:
                    seen += f", reply {verdict['return_disposition']}"
                return False, (f"{s.label} → {d.label}: {seen}, expected {expectation}"
                               + (f" ({bad} of {len(pairs)} pairs)" if len(pairs) > 1 else "")), \
                    len(pairs), self._counter(s, d, query), {"failing_pairs": bad}
        return True, f"{len(pairs)} pair(s) {expectation}", len(pairs), None, {}

    def _allowed(self, s: End, d: End, family: int | None) -> tuple[dict, dict, svc.ServiceSet]:
        query = self._query(s, d, {"ethertype": {4: "IPv4", 6: "IPv6"}.get(family or 0)})
        answer = self.a.explain(query)
        return query, answer, self._reached(d, answer)

    @staticmethod
    def _reached(destination: End, answer: dict) -> svc.ServiceSet:
        """The services that get to ``destination``: for a port, only if delivered to it (routing
        does not depend on the service, so one delivery speaks for all)."""
        allowed = svc.from_allowed(answer.get("allowed") or [])
        if destination.port is not None and answer.get("delivered_to") != f"port:{destination.port['id']}":
            return {}
        return allowed

    def _isolated(self, spec):
        family = self._family(spec)
        pairs = self._pairs(spec, family)
        if family is None:  # no common address family: nothing can flow
            pairs_checked = [(s, d) for s, d in pairs if self.ep.family(s) & self.ep.family(d)]
        else:
            pairs_checked = pairs
        for s, d in self._each(self._not_settled(pairs_checked, family)):
            query, answer, allowed = self._allowed(s, d, family)
            if allowed:
                return False, f"{s.label} → {d.label} allows {svc.text(allowed)}", len(pairs), \
                    {"from": s.label, "to": d.label, "query": query, "answer": answer}, {}
        return True, f"nothing gets through between {len(pairs)} pair(s)", len(pairs), None, {}

    def _not_settled(self, pairs: list[tuple[End, End]], family: int | None) -> list[tuple[End, End]]:
        """Pairs whose allowed set may be non-empty. One probe per pair, as one vectorised batch,
        settles the rest: a probe that gets past the source's groups and then meets no route, a
        loop, an admin-down element or anti-spoofing — or leaves the cloud instead of reaching a
        destination port — would meet the same on every service (routing does not depend on
        the service), and a service the source's groups refuse does not get through anyway."""
        probe = {"protocol": "tcp", "destination_port": 1, "ethertype": {4: "IPv4", 6: "IPv6"}.get(family or 0)}
        verdicts = self.a.verdicts([self._query(s, d, probe) for s, d in pairs])
        return [(s, d) for (s, d), v in zip(pairs, verdicts)
                if not (v["disposition"] in SETTLED or (d.port is not None and v["disposition"] == Disposition.EXITS_NETWORK))]

    def _only(self, spec):
        family = self._family(spec)
        pairs = self._pairs(spec, family)
        for s, d in self._each(pairs):
            query, answer, allowed = self._allowed(s, d, family)
            v6 = answer.get("flow", {}).get("ethertype") == "IPv6"
            expected = svc.parse(spec.services, v6=v6)
            extra, missing = svc.minus(allowed, expected), svc.minus(expected, allowed)
            if extra or missing:
                parts = ([f"also allows {svc.text(extra)}"] if extra else []) + \
                        ([f"blocks {svc.text(missing)}"] if missing else [])
                example = svc.example_query(extra or missing)
                counter = self._counter(s, d, {**query, **example})
                return False, f"{s.label} → {d.label} {'; '.join(parts)}", len(pairs), counter, \
                    {"allowed": svc.text(allowed, 50)}
        return True, f"exactly {', '.join(spec.services)} across {len(pairs)} pair(s)", len(pairs), None, {}

    def _qos(self, spec):
        flows = {f["name"]: f for f in (self.sim_result or {}).get("flows", [])}
        flow = flows.get(spec.flow)
        if flow is None:
            raise ValueError(f"traffic flow '{spec.flow}' did not run")
        delivered, loss = flow["delivered"]["kbps"], flow["loss"]["ratio"]
        p99 = (flow.get("latency_ms") or {}).get("p99")
        failures = []
        if spec.min_throughput_kbps is not None and delivered < spec.min_throughput_kbps:
            failures.append(f"delivered {delivered:.1f} kbps < {spec.min_throughput_kbps:g}")
        if spec.max_loss is not None and loss > spec.max_loss:
            reasons = ", ".join(f"{k} {v}" for k, v in flow["loss"]["by_reason"].items())
            failures.append(f"loss {100 * loss:.2f} % > {100 * spec.max_loss:g} % ({reasons})")
        if spec.max_p99_ms is not None and (p99 is None or p99 > spec.max_p99_ms):
            failures.append(f"p99 {'-' if p99 is None else f'{p99:.3f}'} ms > {spec.max_p99_ms:g} ms")
        details = {"delivered_kbps": delivered, "loss": loss, "p99_ms": p99, "disposition": flow["disposition"]}
        if failures:
            query = flow.get("query")
            counter = {"from": flow.get("from_label", "?"), "to": flow.get("to_label", "?"), "query": query,
                       "answer": self.a.explain(query) if query else None, "measured": details}
            return False, f"{spec.flow}: " + "; ".join(failures), 1, counter, details
        return True, (f"{spec.flow}: {delivered:.0f} kbps, loss {100 * loss:.2f} %, "
                      f"p99 {'-' if p99 is None else f'{p99:.2f}'} ms"), 1, None, details

    def _exposure(self, spec):
        exposed, witness, checked = self.exposed(spec.from_)
        listed: dict[str, tuple[End, svc.ServiceSet]] = {}
        for item in spec.within if spec.within is not None else spec.equal:
            for end in self.ep.select(item.to):
                _, have = listed.get(end.end["port_id"] if end.port else end.label, (end, {}))
                v6 = 4 not in self.ep.family(end)
                listed[end.end.get("port_id", end.label)] = (end, svc.union(have, svc.parse(item.services, v6=v6)))
        extras = {key: svc.minus(services, listed.get(key, (end, {}))[1]) for key, (end, services) in exposed.items()}
        extras = {key: extra for key, extra in extras.items() if extra}
        if extras:
            key, extra = next(iter(extras.items()))
            source, query, shown = self._witness(witness, key, extra)
            found = "; ".join(f"{exposed[k][0].label} on {svc.text(e)}" for k, e in extras.items())
            return False, f"the internet reaches {found} (not listed)", checked, \
                self._counter(source, exposed[key][0], {**query, **svc.example_query(shown)}), \
                self._exposure_details(exposed)
        if spec.equal is not None:
            for key, (end, services) in listed.items():
                missing = svc.minus(services, exposed.get(key, (end, {}))[1])
                if missing:
                    source = self.ep.internet(4 if 4 in self.ep.family(end) else 6)
                    query = {**self._query(source, end, {}), **svc.example_query(missing)}
                    return False, f"the internet does not reach {end.label} on {svc.text(missing)}", checked, \
                        self._counter(source, end, query), self._exposure_details(exposed)
        return True, f"{len(exposed)} exposed port(s), all as listed", checked, None, self._exposure_details(exposed)

    @staticmethod
    def _exposure_details(exposed: dict) -> dict:
        return {"exposed": {end.label: svc.text(services, 50) for end, services in exposed.values()}}

    def exposed(self, origin) -> tuple[dict, dict, int]:
        """``{port key: (End, services)}`` reachable from the outside, with a witness query each."""
        origin = self.ep.parse(origin) if isinstance(origin, str) else origin
        targets = [e for e in self.ep.select_all() if e.port["id"] in self.ep.fips
                   or self.ep.networks[e.port["network_id"]].get("router:external")]
        exposed: dict[str, tuple[End, svc.ServiceSet]] = {}
        witness: dict[str, tuple[End, dict]] = {}
        checked, seen = 0, {}
        for target in self._each(targets):
            # Ports alike in everything an outside packet meets — groups, port security, admin
            # state, network, the router holding the floating IP — get the same answer (an
            # outside address is never a group member), so each such class is walked once.
            port, fip = target.port, self.ep.fips.get(target.port["id"])
            key = (frozenset(port.get("security_groups") or ()), port.get("port_security_enabled"),
                   port["admin_state_up"], port["network_id"], fip["router_id"] if fip else None)
            for source in self._outside_sources(origin, target):
                query = self._query(source, target, {})
                cached = seen.get((key, source.end["ip_address"]))
                if cached is None:
                    answer = self.a.explain(query)
                    checked += 1
                    cached = (svc.from_allowed(answer.get("allowed") or []),
                              answer.get("delivered_to") == f"port:{port['id']}")
                    seen[(key, source.end["ip_address"])] = cached
                allowed, delivered = cached
                if allowed and delivered:
                    _, have = exposed.get(port["id"], (target, {}))
                    merged = svc.union(have, allowed)
                    if merged != have:
                        witness[port["id"]] = (source, query)
                    exposed[port["id"]] = (target, merged)
        return exposed, witness, checked + self._forwarded(origin, exposed, witness)

    def _forwarded(self, origin, exposed: dict, witness: dict) -> int:
        """Ports the outside reaches through floating-IP port forwardings, with the services the
        outside sends to the floating IP (external ports). One allowed-set question per floating
        IP, protocol and outside source; each forwarding takes its external range of the answer."""
        store = self.a.plane.store
        ends = {e.port["id"]: e for e in self.ep.select_all()}
        checked, seen = 0, {}
        for pf in sorted(store.table("port_forwardings").values(), key=lambda r: r["id"]):
            target, fip = ends.get(pf["internal_port_id"]), store.get("floatingips", pf["floatingip_id"])
            if target is None or fip is None or not fip.get("router_id"):
                continue
            first, _, last = pf["external_port_range"].partition(":")
            span = {svc.protocol_of(pf["protocol"]): [(int(first), int(last or first))]}
            for source in self._forward_sources(origin, fip):
                query = {"source": source.end, "destination": {"ip_address": fip["floating_ip_address"]},
                         "protocol": pf["protocol"]}
                key = (fip["id"], pf["protocol"], source.end.get("ip_address"))
                if key not in seen:
                    seen[key] = svc.from_allowed(self.a.explain(query).get("allowed") or [])
                    checked += 1
                allowed = svc.minus(span, svc.minus(span, seen[key]))  # the range's part of the answer
                if allowed:
                    _, have = exposed.get(target.port["id"], (target, {}))
                    witness.setdefault(target.port["id"], (source, query))
                    witness.setdefault(("forwarded", target.port["id"]), []).append((source, query, allowed))
                    exposed[target.port["id"]] = (target, svc.union(have, allowed))
        return checked

    @staticmethod
    def _witness(witness: dict, key: str, extra: svc.ServiceSet) -> tuple:
        """(source, query, services) showing ``extra``: a forwarding's when one reaches part of it
        (its query goes to the forwarding floating IP), else the port's own witness."""
        for source, query, allowed in witness.get(("forwarded", key), ()):
            part = svc.minus(extra, svc.minus(extra, allowed))
            if part:
                return source, query, part
        source, query = witness[key]
        return source, query, extra

    def _forward_sources(self, origin, fip: dict) -> list[End]:
        if origin.internet:
            return [self.ep.internet(4, fip["floating_network_id"])]
        return [e for e in self.ep.select(origin) if ":" not in str(e.end.get("ip_address", ""))]

    def _outside_sources(self, origin, target: End) -> list[End]:
        if not origin.internet:
            return self.ep.select(origin)
        fip = self.ep.fips.get(target.port["id"])
        network = fip["floating_network_id"] if fip else target.port["network_id"]
        families = {4} if fip else self.ep.family(target)
        out = []
        for family in sorted(families):
            for address in self._representatives(family, target.port):
                out.append(End({"ip_address": address, "network_id": network}, f"internet ({address})"))
        return out

    def _representatives(self, family: int, port: dict) -> list[str]:
        """One outside address per class of the target's ingress ``remote_ip_prefix`` cells."""
        default = self.ep.internet(family).end["ip_address"]
        prefixes = set()
        for gid in port.get("security_groups") or ():
            for rule in self.a.plane.store.find("security_group_rules", "security_group_id", gid):
                if rule.get("direction") != "ingress":
                    continue
                for prefix in self._remote_prefixes(rule):
                    net = ipaddress.ip_network(prefix, strict=False)
                    if net.version == family and net.prefixlen > 0:
                        prefixes.add(net)
        out = [default]
        for net in sorted(prefixes):
            address = _free_address(net, [p for p in prefixes if p != net and p.subnet_of(net)], self.ep)
            if address is not None:
                out.append(address)
        return list(dict.fromkeys(out))


    def _remote_prefixes(self, rule: dict) -> list[str]:
        """A rule's remote prefix, or its address group's CIDRs."""
        if rule.get("remote_address_group_id"):
            group = self.a.plane.store.get("address_groups", rule["remote_address_group_id"]) or {}
            return list(group.get("addresses") or ())
        return [rule["remote_ip_prefix"]] if rule.get("remote_ip_prefix") else []


def _free_address(net, holes, endpoints: Endpoints) -> str | None:
    """An address of ``net`` outside ``holes`` and outside the cloud's subnets (a bounded search)."""
    candidates = [net.network_address, net.broadcast_address]
    for hole in holes:
        for edge in (int(hole.network_address) - 1, int(hole.broadcast_address) + 1):
            if int(net.network_address) <= edge <= int(net.broadcast_address):
                candidates.append(ipaddress.ip_address(edge))
    for step in range(1, 64):
        value = int(net.network_address) + step * max(1, net.num_addresses // 64)
        if value <= int(net.broadcast_address):
            candidates.append(ipaddress.ip_address(value))
    for address in candidates:
        if any(address in h for h in holes) or endpoints.in_cloud(str(address)):
            continue
        return str(address)
    return None


__all__ = ["Checker", "Result", "PASS", "FAIL", "XFAIL", "XPASS", "ERROR"]
