"""``xloudnet apply`` and ``xloudnet import`` against ``xloudnet serve`` itself (a fresh server
per test, so the cloud holds exactly what the test put there).

- every shipped scenario: apply → import → run gives the same intent verdicts as the original;
- a second apply changes nothing, and ``--dry-run`` changes nothing at all;
- a topology built through the API (openstacksdk), imported and provisioned into an embedded
  plane, holds every resource the analyser uses, field for field (the Snapshot's fields).
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
import yaml
from cloud_helpers import serving
from e2e_helpers import PASSWORD, connect

from xloudnet.cli import main
from xloudnet.cloud.inventory import list_all
from xloudnet.scenarios.loader import load
from xloudnet.scenarios.provision import embedded_plane, project_ids, provision

pytestmark = pytest.mark.e2e

SCENARIOS = sorted((Path(__file__).parents[2] / "scenarios").glob("*.yaml"))
INTENT_SECTIONS = ("expect", "traffic", "links")  # what import cannot know: the file's questions


@pytest.fixture
def server():
    with serving() as base:
        yield base


@pytest.fixture
def xloudnet(capsys, monkeypatch):
    """``xloudnet ARGS`` in-process; (exit code, stdout, stderr)."""
    for key in ("OS_CLOUD", "OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME", "XLOUDNET_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err
    return run


def as_admin(server: str) -> tuple[str, ...]:
    return ("--url", server, "--user", "admin", "--password", PASSWORD)


def verdicts(xloudnet, path: Path, traffic: bool) -> list[tuple]:
    code, out, err = xloudnet("run", str(path), "--json", *([] if traffic else ["--no-traffic"]))
    report = json.loads(out)
    assert not report["bad_scenarios"], report["bad_scenarios"]
    return sorted((i["name"], i["status"], i["summary"]) for r in report["runs"] for i in r["intents"])


def imported_with_questions(xloudnet, server: str, original: Path, out: Path) -> Path:
    """Import the cloud, and give the imported file the original's intents and traffic."""
    code, _, err = xloudnet("import", *as_admin(server), "-o", str(out))
    assert code == 0, err
    data = yaml.safe_load(out.read_text())
    source = yaml.safe_load(original.read_text())
    data.update({k: source[k] for k in INTENT_SECTIONS if k in source})
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_apply_then_import_gives_the_same_verdicts_as_the_original(scenario, server, xloudnet, tmp_path):
    code, _, err = xloudnet("apply", str(scenario), *as_admin(server))
    assert code == 0, err
    copy = imported_with_questions(xloudnet, server, scenario, tmp_path / "imported.yaml")
    traffic = scenario.stem == "qos-capacity"  # the one example whose intents are about traffic
    assert verdicts(xloudnet, copy, traffic) == verdicts(xloudnet, scenario, traffic)


def test_second_apply_changes_nothing(server, xloudnet):
    scenario = str(SCENARIOS[0].parent / "three-tier.yaml")
    assert xloudnet("apply", scenario, *as_admin(server))[0] == 0
    code, out, _ = xloudnet("apply", scenario, *as_admin(server), "--json")
    counts = json.loads(out)["applied"]
    assert code == 0 and counts["create"] == counts["update"] == 0 and counts["unchanged"] > 30


def test_dry_run_prints_the_plan_and_changes_nothing(server, xloudnet):
    scenario = str(SCENARIOS[0].parent / "three-tier.yaml")
    code, out, _ = xloudnet("apply", scenario, *as_admin(server), "--dry-run")
    assert code == 0 and "create" in out and "web-1" in out and "edge → db-sub" in out
    code, out, _ = xloudnet("import", *as_admin(server), "--json")
    assert code == 0 and json.loads(out)["default_project"] == "admin"
    assert [n["name"] for n in json.loads(out).get("networks", [])] == []  # nothing was made


def test_import_pages_through_a_cloud_with_more_items_than_a_page(server):
    conn = connect(server, "demo")
    network = conn.network.create_network(name="paged")
    conn.network.create_subnet(network_id=network.id, cidr="10.70.0.0/24", ip_version=4)
    made = {conn.network.create_port(network_id=network.id).id for _ in range(23)}
    listed = list_all(conn.network, "/ports", "ports", page_size=5)
    assert made <= {p["id"] for p in listed} and len(listed) == len({p["id"] for p in listed})


def test_refused_call_stops_apply_with_the_file_position(server, xloudnet, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("networks: [{name: n1}]\nsubnets: [{name: s1, network: n1, cidr: 10.0.0.0/24}]\n"
                   "ports: [{name: p1, network: n1, fixed_ips: [{subnet: s1, ip_address: 10.9.9.9}]}]\n")
    code, _, err = xloudnet("apply", str(bad), *as_admin(server))
    assert code == 1 and "ports[0]" in err and "p1" in err and "refused" in err and "Traceback" not in err


# --- a topology built through the API, imported, provisioned again: the analyser's resources ---------

# The fields the data plane reads (control.snapshot.Snapshot's contract), per collection.
ANALYSER_FIELDS = {
    "networks": ("admin_state_up", "router:external", "shared", "subnets", "mtu", "qos_policy_id",
                 "port_security_enabled", "project_id", "tags"),
    "subnets": ("network_id", "ip_version", "cidr", "gateway_ip", "host_routes", "allocation_pools", "project_id",
                "enable_dhcp", "ipv6_ra_mode", "ipv6_address_mode", "tags"),
    "ports": ("network_id", "admin_state_up", "fixed_ips", "allowed_address_pairs", "security_groups",
              "port_security_enabled", "device_owner", "device_id", "qos_policy_id", "mac_address", "project_id",
              "status", "tags"),
    "routers": ("admin_state_up", "external_gateway_info", "routes", "project_id", "tags"),
    "floatingips": ("floating_ip_address", "floating_network_id", "port_id", "fixed_ip_address", "router_id",
                    "status", "qos_policy_id", "project_id", "tags"),
    "security_groups": ("stateful", "project_id", "name", "tags"),
    "security_group_rules": ("security_group_id", "direction", "ethertype", "protocol", "port_range_min",
                             "port_range_max", "remote_ip_prefix", "remote_group_id", "project_id"),
    "qos_policies": ("rules", "shared", "is_default", "project_id", "tags"),
}
PATHS = {"networks": "/networks", "subnets": "/subnets", "ports": "/ports", "routers": "/routers",
         "floatingips": "/floatingips", "security_groups": "/security-groups",
         "security_group_rules": "/security-group-rules", "qos_policies": "/qos/policies"}
LIST_KEYS = {"qos_policies": "policies"}
# Their ids are new on every provisioning (the DHCP agent's port: remade by the copy's agent).
MADE_BY_NEUTRON = ("network:router_gateway", "network:floatingip", "network:dhcp")


def _canonical(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _canonical(v)) for k, v in value.items() if k not in ("id", "qos_policy_id")))
    if isinstance(value, list):
        return tuple(sorted((_canonical(v) for v in value), key=repr))
    return value


def _eui64(address: str) -> bool:
    packed = ipaddress.ip_address(address).packed
    return packed[11:13] == b"\xff\xfe"


def analyser_view(collections: dict[str, list[dict]]) -> dict[str, dict]:
    """Resources keyed by id (ports Neutron makes: by owner, device and addresses), analyser fields only."""
    view = {}
    for name, items in collections.items():
        fields = ANALYSER_FIELDS[name]
        keyed = {}
        for item in items:
            if item.get("device_owner") == "network:dhcp":
                # The copy's agent makes its port with a MAC of its own: its EUI-64 (SLAAC)
                # addresses differ by design; which subnets it serves and its IPv4 address do not.
                item = {**item, "fixed_ips": [f if ":" not in f["ip_address"] or not _eui64(f["ip_address"])
                                              else {"subnet_id": f["subnet_id"], "ip_address": "EUI-64"}
                                              for f in item.get("fixed_ips") or []]}
            record = {f: _canonical(item.get(f)) for f in fields}
            key = item["id"]
            if name == "ports" and item.get("device_owner") in MADE_BY_NEUTRON:
                record.pop("mac_address")
                key = (item["device_owner"], item["device_id"], record["fixed_ips"])
            if name == "security_group_rules":  # the rules Neutron makes with a group get new ids
                key = tuple(sorted(record.items(), key=repr))
            keyed[key] = record
        view[name] = keyed
    return view


def build_topology(admin, demo) -> None:
    """A bit of everything the analyser reads, made the way a user would (openstacksdk)."""
    ext = admin.network.create_network(name="ext", is_router_external=True)
    ext_sub = admin.network.create_subnet(network_id=ext.id, cidr="172.24.4.0/24", ip_version=4, is_dhcp_enabled=False)
    shared = admin.network.create_network(name="shared-net", is_shared=True)
    admin.network.create_subnet(network_id=shared.id, cidr="10.50.0.0/24", ip_version=4, name="shared-sub")
    gold = admin.network.create_qos_policy(name="gold", is_shared=True)
    admin.network.create_qos_bandwidth_limit_rule(gold, max_kbps=5000, max_burst_kbps=500, direction="egress")
    admin.network.create_qos_dscp_marking_rule(gold, dscp_mark=26)

    app = demo.network.create_network(name="app", mtu=1400)
    demo.network.set_tags(app, ["tier-app", "prod"])
    v4 = demo.network.create_subnet(network_id=app.id, name="app-v4", cidr="10.60.0.0/24", ip_version=4,
                                    host_routes=[{"destination": "192.168.9.0/24", "nexthop": "10.60.0.254"}],
                                    dns_nameservers=["10.60.0.2"],
                                    allocation_pools=[{"start": "10.60.0.10", "end": "10.60.0.200"}])
    demo.network.create_subnet(network_id=app.id, name="app-v6", cidr="fd00:60::/64", ip_version=6,
                               ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    for _ in range(2):  # the same name twice, and no name at all
        dup = demo.network.create_network(name="dup")
    demo.network.create_subnet(network_id=dup.id, cidr="10.61.0.0/24", ip_version=4)
    back = demo.network.create_network(name="")
    back_sub = demo.network.create_subnet(network_id=back.id, cidr="10.62.0.0/24", ip_version=4)

    bastion = demo.network.create_security_group(name="bastion")
    web = demo.network.create_security_group(name="web")
    demo.network.create_security_group_rule(security_group_id=web.id, direction="ingress", protocol="tcp",
                                            port_range_min=80, port_range_max=80, remote_ip_prefix="0.0.0.0/0")
    demo.network.create_security_group_rule(security_group_id=web.id, direction="ingress", protocol="tcp",
                                            port_range_min=22, port_range_max=22, remote_group_id=bastion.id)
    quiet = demo.network.create_security_group(name="quiet", stateful=False)
    for rule in demo.network.security_group_rules(security_group_id=quiet.id, direction="egress"):
        if rule.ether_type == "IPv6":
            demo.network.delete_security_group_rule(rule)
    demo.network.create_security_group_rule(security_group_id=quiet.id, direction="ingress", protocol="udp",
                                            port_range_min=53, port_range_max=53, ether_type="IPv4")

    router = demo.network.create_router(name="edge", external_gateway_info={"network_id": ext.id})
    demo.network.add_interface_to_router(router, subnet_id=v4.id)
    side = demo.network.create_port(network_id=back.id, fixed_ips=[{"subnet_id": back_sub.id, "ip_address": "10.62.0.9"}])
    demo.network.add_interface_to_router(router, port_id=side.id)
    demo.network.update_router(router, routes=[{"destination": "10.99.0.0/16", "nexthop": "10.60.0.254"}])

    web_port = demo.network.create_port(network_id=app.id, name="web-1", security_group_ids=[web.id],
                                        allowed_address_pairs=[{"ip_address": "10.60.0.250"}],
                                        qos_policy_id=gold.id, device_owner="compute:nova", device_id="vm-1")
    demo.network.create_port(network_id=app.id, name="bastion-1", security_group_ids=[bastion.id])
    demo.network.create_port(network_id=app.id, name="dns", security_group_ids=[quiet.id])
    demo.network.create_port(network_id=app.id, name="open", port_security_enabled=False, security_group_ids=[])
    demo.network.create_port(network_id=shared.id, name="on-shared")
    demo.network.create_port(network_id=back.id)  # no name
    demo.network.create_ip(floating_network_id=ext.id, port_id=web_port.id)
    demo.network.create_ip(floating_network_id=ext.id)  # not associated
    assert ext_sub.id


def test_import_of_a_topology_built_through_the_api_reproduces_what_the_analyser_reads(server, xloudnet, tmp_path):
    admin, demo = connect(server, "admin"), connect(server, "demo")
    build_topology(admin, demo)
    code, _, err = xloudnet("import", *as_admin(server), "-o", str(tmp_path / "cloud.yaml"))
    assert code == 0, err

    scenario, source = load(tmp_path / "cloud.yaml")
    plane, ids = embedded_plane()
    provision(scenario, source, plane, project_ids(scenario), ids=ids)
    snapshot = plane.snapshot()
    in_plane = {name: list(getattr(snapshot, name).values()) for name in ANALYSER_FIELDS}
    in_cloud = {name: list_all(admin.network, path, LIST_KEYS.get(name, name)) for name, path in PATHS.items()}
    expected, got = analyser_view(in_cloud), analyser_view(in_plane)
    for name in ANALYSER_FIELDS:
        wrong = {key: sorted(f for f in record if (got[name].get(key) or {}).get(f) != record[f])
                 for key, record in expected[name].items() if got[name].get(key) != record}
        assert got[name] == expected[name], f"{name}: differing fields {wrong}"
