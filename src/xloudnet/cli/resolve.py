"""Names and id prefixes for the CLI: ``vm1`` or ``3f2a`` wherever a command takes an id.

Resolution asks the networking API, as the caller, for the collection's ids and names (one
``GET ?fields=id&fields=name`` per collection and command run). A full id is looked up directly,
so a missing or invisible one is reported as such. Output uses the same listings to print
``name (id prefix)`` instead of bare UUIDs.
"""

from __future__ import annotations

import re

from ..client import Client, ClientError

# kind → (URL collection, response key of a listing, of one record, what a person calls it)
KINDS = {
    "port": ("ports", "ports", "port", "port"),
    "security_group": ("security-groups", "security_groups", "security_group", "security group"),
    "security_group_rule": ("security-group-rules", "security_group_rules", "security_group_rule",
                            "security-group rule"),
    "network": ("networks", "networks", "network", "network"),
    "subnet": ("subnets", "subnets", "subnet", "subnet"),
    "router": ("routers", "routers", "router", "router"),
    "floatingip": ("floatingips", "floatingips", "floatingip", "floating IP"),
    "address_group": ("address-groups", "address_groups", "address_group", "address group"),
    "qos_policy": ("qos/policies", "policies", "policy", "QoS policy"),
}
# A path segment → the kind its next segment names (QoS policies live under /qos/policies).
BY_COLLECTION = {v[0].rpartition("/")[2]: k for k, v in KINDS.items()}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
ANY_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
SHORT = 8
# Body fields of a what-if change that hold an id of this kind.
BODY_FIELDS = {"security_group_id": "security_group", "remote_group_id": "security_group",
               "network_id": "network", "floating_network_id": "network", "port_id": "port",
               "router_id": "router", "subnet_id": "subnet", "qos_policy_id": "qos_policy",
               "remote_address_group_id": "address_group"}


class ResolveError(Exception):
    """A name or id that names nothing, or more than one thing (one line for the user)."""


class Resolver:
    """Resolves names / id prefixes and labels ids, through one client (listings cached)."""

    def __init__(self, client: Client):
        self.client = client
        self._lists: dict[str, list[dict]] = {}

    def listing(self, kind: str) -> list[dict]:
        if kind not in self._lists:
            path, key, _one, _what = KINDS[kind]
            fields = "fields=id" + ("&fields=name" if kind != "security_group_rule" else "")
            self._lists[kind] = self.client.call("network", "GET", f"/v2.0/{path}?{fields}")[key]
        return self._lists[kind]

    def record(self, kind: str, rid: str) -> dict:
        """The full record (``ResolveError`` when it does not exist or is not visible)."""
        path, _key, one, what = KINDS[kind]
        try:
            return self.client.call("network", "GET", f"/v2.0/{path}/{rid}")[one]
        except ClientError as exc:
            if exc.status == 404:
                raise ResolveError(f"no {what} with id {rid} (or not visible to you)") from None
            raise

    def resolve(self, kind: str, text: str) -> str:
        """The one id ``text`` names: a full id, an exact name, or a unique id prefix."""
        text = text.strip()
        what = KINDS[kind][3]
        if UUID.match(text):
            return self.record(kind, text)["id"]
        records = self.listing(kind)
        named = [r for r in records if r.get("name") == text]
        if len(named) == 1:
            return named[0]["id"]
        if len(named) > 1:
            raise ResolveError(f"{len(named)} {what}s are named {text!r}; use an id: "
                               + ", ".join(r["id"] for r in named[:10]))
        prefixed = [r for r in records if r["id"].startswith(text.lower())] if text else []
        if len(prefixed) == 1:
            return prefixed[0]["id"]
        if len(prefixed) > 1:
            raise ResolveError(f"{text!r} is the start of {len(prefixed)} {what} ids: "
                               + ", ".join(self.label(kind, r["id"]) for r in prefixed[:10]))
        raise ResolveError(f"no {what} named {text!r} or with an id starting with it")

    def names(self, kinds=("port", "security_group", "network", "router", "address_group")) -> dict[str, str]:
        """id → name of every visible resource of these kinds (ids without a name left out)."""
        out = {}
        for kind in kinds:
            try:
                records = self.listing(kind)
            except ClientError:
                continue  # names are a courtesy: never fail an answer for want of them
            out.update({r["id"]: r["name"] for r in records if r.get("name")})
        return out

    def label(self, kind: str, rid: str) -> str:
        name = next((r.get("name") for r in self.listing(kind) if r["id"] == rid), None)
        return label(rid, name)


def label(rid: str, name: str | None) -> str:
    """``name (id prefix)``, or the id alone when there is no name."""
    if not rid:
        return ""
    return f"{name} ({rid[:SHORT]})" if name else rid


def humanize(text: str, names: dict[str, str]) -> str:
    """Every UUID in ``text`` followed by the name it has, if any."""
    return ANY_UUID.sub(lambda m: label(m.group(0), names.get(m.group(0))), text)


def resolve_change(resolver: Resolver, change: dict) -> dict:
    """A what-if change with names / prefixes in its path and id fields of its body resolved
    (a QoS rule, which has no name, by a unique id prefix within its policy)."""
    parts = change["path"].split("/")
    for i in range(1, len(parts)):
        kind = BY_COLLECTION.get(parts[i - 1])
        if kind and parts[i] and parts[i] not in ("add_router_interface", "remove_router_interface"):
            parts[i] = resolver.resolve(kind, parts[i])
        elif i >= 3 and parts[i - 3] == "policies" and parts[i - 1].endswith("_rules") and parts[i]:
            parts[i] = _qos_rule(resolver, "/".join(parts[:i]), parts[i])
    out = {**change, "path": "/".join(parts)}
    body = change.get("body")
    if isinstance(body, dict):
        out["body"] = {key: _resolve_fields(resolver, value) if isinstance(value, dict) else value
                       for key, value in body.items()}
        out["body"] = _resolve_fields(resolver, out["body"])
    return out


def _qos_rule(resolver: Resolver, collection: str, text: str) -> str:
    """The one rule of ``collection`` (``/v2.0/qos/policies/ID/TYPE_rules``) whose id is or
    starts with ``text``."""
    if UUID.match(text):
        return text
    key = collection.rsplit("/", 1)[1]
    rules = resolver.client.call("network", "GET", f"{collection}?fields=id")[key]
    found = [r["id"] for r in rules if r["id"].startswith(text.lower())] if text else []
    if len(found) != 1:
        what = key[:-1].replace("_", " ")
        raise ResolveError(f"{text!r} is the start of {len(found)} {what} ids of that policy"
                           + (": " + ", ".join(found[:10]) if found else ""))
    return found[0]


def _resolve_fields(resolver: Resolver, record: dict) -> dict:
    return {key: resolver.resolve(BODY_FIELDS[key], value) if key in BODY_FIELDS and isinstance(value, str)
            else value for key, value in record.items()}


__all__ = ["Resolver", "ResolveError", "label", "humanize", "resolve_change", "KINDS"]
