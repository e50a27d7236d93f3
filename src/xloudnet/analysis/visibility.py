"""What one caller may see of a control plane, and answers cut down to it.

A project asks about what it can see through the networking API (its ports, the ports on its
networks, shared and external networks, its own groups and rules, groups shared with it by RBAC
and the rules in their bodies, shared QoS policies); an admin
about everything. ``Visibility(plane, ctx)`` answers "may this caller see this id?" with the same
rules the networking API applies (each resource service's ``visible``), checks the endpoints a
question names (an invisible or unknown port is the networking API's 404), lists the endpoints a
caller may ask about, and redacts answers.

Redaction is by value rather than by field: every string of an answer (dict keys included) is cut
into id-shaped tokens, and a token that is the id of a record the caller may not see becomes
``hidden``. So a new field carrying an id cannot leak by being forgotten here. A QoS description
whose policy is hidden also loses its DSCP mark (what another project's policy writes into the
packets is its configuration, not something the caller sent).
"""

from __future__ import annotations

import re
from typing import Any

from ..control.context import Context
from ..control.plane import ControlPlane

HIDDEN = "hidden"

# Store tables whose ids a caller may meet in answers, and the service deciding who sees them.
# ``qos_rules`` has no visibility of its own: a rule is visible with its policy.
_SERVICES = {
    "networks": "networks", "subnets": "subnets", "ports": "ports", "routers": "routers",
    "floatingips": "floatingips", "security_groups": "security_groups",
    "security_group_rules": "security_group_rules", "qos_policies": "qos_policies",
    "address_groups": "address_groups",
    "subnetpools": "subnetpools", "address_scopes": "address_scopes",
    "port_forwardings": "port_forwardings",  # visible with their floating IP (same project)
}
_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")


class Visibility:
    """``ctx``'s view of ``plane`` (computed lazily, per id; no scan of the store)."""

    def __init__(self, plane: ControlPlane, ctx: Context):
        self.plane = plane
        self.ctx = ctx
        self._seen: dict[str, bool | None] = {}
        self._texts: dict[str, str] = {}  # answers repeat their strings (nodes, stages): cut each once
        self._maps = None

    @property
    def everything(self) -> bool:
        return self.ctx.is_admin

    # --- single ids -----------------------------------------------------------------------------
    def can_see(self, rid: str) -> bool | None:
        """True / False for an id of the plane, ``None`` when no record has this id."""
        if rid in self._seen:
            return self._seen[rid]
        if self._maps is None:  # the tables as of the first look-up (O(1) persistent maps)
            store = self.plane.store
            self._maps = [(getattr(self.plane, attribute), store.table(table))
                          for table, attribute in _SERVICES.items()]
            self._rules, self._policies = store.table("qos_rules"), store.table("qos_policies")
        answer = None
        for service, records in self._maps:
            record = records.get(rid)
            if record is not None:
                answer = (self.everything or service.visible(self.ctx, record)
                          or (service is self.plane.security_group_rules and self._through_group(record)))
                break
        else:
            rule = self._rules.get(rid)
            if rule is not None:
                policy = self._policies.get(rule.get("qos_policy_id"))
                answer = self.everything or (policy is not None
                                             and self.plane.qos_policies.visible(self.ctx, policy))
        self._seen[rid] = answer
        return answer

    def _through_group(self, record: dict) -> bool:
        """A security-group rule is seen with its group: a group shared with the caller's project
        (rbac-security-groups) shows its rules in its body, so traces may name them too."""
        group = self.plane.store.get("security_groups", record["security_group_id"])
        return group is not None and self.plane.security_groups.visible(self.ctx, group)

    def hidden(self, rid: str) -> bool:
        return self.can_see(rid) is False

    # --- endpoints ------------------------------------------------------------------------------
    def endpoint_ids(self) -> list[str]:
        """Every endpoint port (not ``network:*``) the caller may see, in id order."""
        ports = self.plane.ports
        table = self.plane.store.table("ports")
        return sorted(pid for pid, p in table.items() if not p["device_owner"].startswith("network:")
                      and (self.everything or ports.visible(self.ctx, p)))

    def check_end(self, end: dict) -> None:
        """The networking API's 404 for a port or network the caller may not see (or that does
        not exist); addresses are the caller's own text and need no check."""
        port_id, network_id = end.get("port_id"), end.get("network_id")
        if isinstance(port_id, str):
            self.plane.ports.get(self.ctx, port_id)
        if isinstance(network_id, str):
            self.plane.networks.get(self.ctx, network_id)

    # --- answers --------------------------------------------------------------------------------
    def redact(self, answer: Any) -> Any:
        """``answer`` with every id the caller may not see replaced by ``hidden`` (a copy; the
        answer itself is left alone). Admins see everything: returned as is."""
        if self.everything:
            return answer
        return self._value(answer)

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, dict):
            out = {self._text(k) if isinstance(k, str) else k: self._value(v) for k, v in value.items()}
            if out.get("policy_id") == HIDDEN and "dscp_mark" in out:
                out["dscp_mark"] = HIDDEN
            return out
        if isinstance(value, (list, tuple)):
            return [self._value(v) for v in value]
        return value

    def _text(self, text: str) -> str:
        done = self._texts.get(text)
        if done is None:
            if self.hidden(text):
                done = HIDDEN
            elif len(text) < 8:  # shorter than any id worth hiding: dispositions, actions
                done = text
            else:
                done = _TOKEN.sub(self._token, text)
            self._texts[text] = done
        return done

    def _token(self, match: re.Match) -> str:
        token = match.group(0)
        # Inside a longer string only id-length tokens are looked up ("port", "uplink", "rx" are
        # not ids); a whole string is looked up whatever its length (see ``_text``).
        return HIDDEN if len(token) >= 8 and self.hidden(token) else token

    def redact_simulation(self, result: dict) -> dict:
        """A simulation result as the caller may see it: ids redacted, and the DSCP marks a
        hidden policy wrote no longer readable in the per-flow ``dscp_seen`` counters."""
        if self.everything:
            return result
        out = self._value(result)
        if "rule_hits" in result:  # several hidden rules fold into one counter
            hits: dict[str, int] = {}
            for rid, count in result["rule_hits"].items():
                key = self._text(rid)
                hits[key] = hits.get(key, 0) + count
            out["rule_hits"] = hits
        if "links" in result:
            links: dict = {}
            for lid, stats in result["links"].items():
                links.setdefault(self._text(lid), self._value(stats))
            out["links"] = links
        for flow in out.get("flows") or []:
            egress = (flow.get("qos") or {}).get("egress") or {}
            if egress.get("dscp_mark") == HIDDEN and "dscp_seen" in flow:
                flow["dscp_seen"] = {HIDDEN: sum(flow["dscp_seen"].values())}
        return out


__all__ = ["HIDDEN", "Visibility"]
