"""Port list filters: a hypothesis property that the API's answer equals a brute-force filter of
every port (repeated keys OR, different keys AND, tag filters, the fixed_ips filter, visibility)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xloudnet.control import errors
from xloudnet.control.context import Context
from xloudnet.control.neutron import NeutronAPI, Request
from xloudnet.control.plane import ControlPlane

ADMIN = Context.admin("admin-project")
DEMO = Context("demo-project", "demo-user", frozenset({"member", "reader"}))
ALT = Context("alt-project", "alt-user", frozenset({"member", "reader"}))
NAMES = ("a", "b", "web", "")
OWNERS = ("", "compute:nova", "network:dhcp", "baremetal:none")
TAGS = ("red", "green", "blue")

PORT = st.fixed_dictionaries(
    {
        "project": st.sampled_from([DEMO.project_id, ALT.project_id]),
        "network": st.integers(0, 1),
        "name": st.sampled_from(NAMES),
        "device_owner": st.sampled_from(OWNERS),
        "device_id": st.sampled_from(["", "vm-1", "vm-2"]),
        "admin_state_up": st.booleans(),
        "tags": st.lists(st.sampled_from(TAGS), unique=True, max_size=3),
    }
)
SIMPLE_KEYS = ("name", "device_owner", "device_id", "admin_state_up", "status", "network_id", "project_id")
FILTER = st.one_of(
    st.tuples(st.just("name"), st.sampled_from(NAMES)),
    st.tuples(st.just("device_owner"), st.sampled_from(OWNERS)),
    st.tuples(st.just("device_id"), st.sampled_from(["", "vm-1", "vm-2"])),
    st.tuples(st.just("admin_state_up"), st.sampled_from(["true", "false", "True", "0"])),
    st.tuples(st.just("status"), st.sampled_from(["ACTIVE", "DOWN"])),
    st.tuples(st.just("network_id"), st.integers(0, 1)),
    st.tuples(st.just("project_id"), st.sampled_from([DEMO.project_id, ALT.project_id])),
    st.tuples(st.sampled_from(["tags", "tags-any", "not-tags", "not-tags-any"]),
              st.lists(st.sampled_from(TAGS), min_size=1, max_size=2, unique=True).map(",".join)),
    st.tuples(st.just("fixed_ips"), st.sampled_from(["subnet_id=0", "subnet_id=1", "ip_address_substr=.1",
                                                     "ip_address=10.0.0.3", "ip_address=10.1.0.4"])),
    st.tuples(st.just("mac_address"), st.integers(0, 30)),
    st.tuples(st.just("security_groups"), st.sampled_from([DEMO.project_id, ALT.project_id])),
)


def _build(specs):
    plane = ControlPlane()
    nets, subnets = [], []
    for i, owner in enumerate((DEMO, ALT)):
        net = plane.networks.create(ADMIN, {"name": f"n{i}", "shared": True, "project_id": owner.project_id})
        nets.append(net["id"])
        cidr = f"10.{i}.0.0/24"
        subnets.append(plane.subnets.create(ADMIN, {"network_id": net["id"], "ip_version": 4, "cidr": cidr})["id"])
    ports = []
    for spec in specs:
        body = {k: spec[k] for k in ("name", "device_owner", "device_id", "admin_state_up", "tags")}
        body.update(project_id=spec["project"], network_id=nets[spec["network"]])
        ports.append(plane.ports.create(ADMIN, body))
    return plane, nets, subnets, ports


def _query(filters, nets, subnets, ports, plane):
    """Turn generated filters into query pairs, resolving indexes to real ids and MACs."""
    pairs = []
    for key, value in filters:
        if key == "network_id":
            value = nets[value]
        elif key == "fixed_ips" and value.startswith("subnet_id="):
            value = "subnet_id=" + subnets[int(value.split("=")[1])]
        elif key == "mac_address":
            value = ports[value % len(ports)]["mac_address"].upper() if ports else "fa:16:3e:00:00:00"
        elif key == "security_groups":
            value = plane.security_groups.ensure_default(value)
        pairs.append((key, value))
    return pairs


def _expected(ctx, pairs, ports, plane) -> set[str]:
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)

    def visible(port):
        network = plane.store.get("networks", port["network_id"])
        return ctx.is_admin or ctx.project_id in (port["project_id"], network["project_id"])

    def passes(port):
        for key, values in grouped.items():
            if key in SIMPLE_KEYS:
                wanted = {v.lower() in ("true", "1") for v in values} if key == "admin_state_up" else set(values)
                if port[key] not in wanted:
                    return False
            elif key == "mac_address":
                if port["mac_address"] not in {v.lower() for v in values}:
                    return False
            elif key == "security_groups":
                if not set(values) & set(port["security_groups"]):
                    return False
            elif key == "fixed_ips":
                if not any(_fixed_match(ip, values) for ip in port["fixed_ips"]):
                    return False
            elif not _tags_match(key, values, set(port["tags"])):
                return False
        return True

    return {p["id"] for p in ports if visible(p) and passes(p)}


def _fixed_match(ip, values) -> bool:
    by_key: dict[str, list[str]] = {}
    for value in values:
        key, _, item = value.partition("=")
        by_key.setdefault(key, []).append(item)
    return (
        ip["ip_address"] in by_key.get("ip_address", [ip["ip_address"]])
        and ip["subnet_id"] in by_key.get("subnet_id", [ip["subnet_id"]])
        and any(s in ip["ip_address"] for s in by_key.get("ip_address_substr", [""]))
    )


def _tags_match(key, values, tags) -> bool:
    wanted = {t for v in values for t in v.split(",")}
    if key == "tags":
        return wanted <= tags
    if key == "tags-any":
        return bool(wanted & tags)
    if key == "not-tags":
        return not wanted <= tags
    return not wanted & tags


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(PORT, max_size=14),
    st.lists(FILTER, max_size=4),
    st.sampled_from([ADMIN, DEMO, ALT]),
)
def test_list_filters_equal_a_brute_force_filter_of_all_ports(specs, filters, ctx):
    plane, nets, subnets, ports = _build(specs)
    api = NeutronAPI(plane)
    ports = list(plane.store.table("ports").values())
    pairs = _query(filters, nets, subnets, ports, plane)
    try:
        got = api.handle(ctx, Request("GET", "/v2.0/ports", query=pairs)).body["ports"]
    except errors.NeutronException as exc:  # pragma: no cover - a failure here is a bug
        raise AssertionError(f"{pairs}: {exc}") from exc
    assert {p["id"] for p in got} == _expected(ctx, pairs, ports, plane)
    assert len(got) == len({p["id"] for p in got})  # no duplicates from index unions
