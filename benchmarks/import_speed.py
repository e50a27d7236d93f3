"""``xloudnet import`` of a 10k-port cloud from a live server (target: under 10 s).

Starts ``xloudnet serve`` on a free loopback port and loads it (bulk POSTs) with ten tenant
networks, a router, security groups with rules, 10,000 ports and floating IPs. Then, each a few
times (medians):

- baseline: every collection fetched page by page (``limit=1000`` + the ``next`` links) with a bare
  keep-alive HTTP client and decoded with orjson: what moving the data costs at the least;
- import: what ``xloudnet import`` does end to end, as a user runs it: log in through
  openstacksdk (keystoneauth, catalog), read every collection through the SDK's network proxy,
  build the scenario (pydantic) and write its YAML; with the time of each stage.

The figure is printed with its ratio to the baseline and to the target.

    python benchmarks/import_speed.py [--ports 10000] [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from _server import Client, free_port, start_server
from xloudnet.cli import main as xloudnet_main
from xloudnet.cloud.connection import connect
from xloudnet.cloud.importer import scenario_yaml, to_scenario
from xloudnet.cloud.inventory import COLLECTIONS, PAGE_SIZE, read_inventory

PASSWORD = "bench-secret"
TARGET_S = 10.0


def populate(admin: Client, demo: Client, ports: int) -> None:
    """Ten tenant networks behind one router, groups with rules, ``ports`` ports, some floating IPs."""
    net = "/networking/v2.0"
    admin.call("PUT", f"{net}/quotas/{demo.project_id}", {"quota": {"port": -1, "floatingip": -1}})
    _, ext = admin.call("POST", f"{net}/networks", {"network": {"name": "public", "router:external": True}})
    admin.call("POST", f"{net}/subnets", {"subnet": {"network_id": ext["network"]["id"], "cidr": "172.24.0.0/16",
                                                     "ip_version": 4, "enable_dhcp": False}})
    _, router = demo.call("POST", f"{net}/routers", {"router": {"name": "edge", "external_gateway_info": {
        "network_id": ext["network"]["id"]}}})
    groups = []
    for g in range(5):
        _, made = demo.call("POST", f"{net}/security-groups", {"security_group": {"name": f"tier-{g}"}})
        groups.append(made["security_group"]["id"])
        for port in (22, 80, 443, 5432, 8080):
            demo.call("POST", f"{net}/security-group-rules", {"security_group_rule": {
                "security_group_id": groups[-1], "direction": "ingress", "protocol": "tcp",
                "port_range_min": port, "port_range_max": port, "remote_group_id": groups[g - 1]}})
    networks = []
    for n in range(10):
        _, network = demo.call("POST", f"{net}/networks", {"network": {"name": f"tenant-{n}"}})
        _, subnet = demo.call("POST", f"{net}/subnets", {"subnet": {
            "network_id": network["network"]["id"], "cidr": f"10.{n}.0.0/16", "ip_version": 4, "name": f"sub-{n}"}})
        demo.call("PUT", f"{net}/routers/{router['router']['id']}/add_router_interface",
                  {"subnet_id": subnet["subnet"]["id"]})
        networks.append(network["network"]["id"])
    done, first_ports = 0, []
    while done < ports:
        batch = min(1000, ports - done)
        _, made = demo.call("POST", f"{net}/ports", {"ports": [
            {"network_id": networks[(done + i) % len(networks)], "name": f"vm-{done + i}",
             "security_groups": [groups[(done + i) % len(groups)]]} for i in range(batch)]})
        first_ports += [p["id"] for p in made["ports"][:10]]
        done += batch
        print(f"\r  populating: {done}/{ports} ports", end="", flush=True)
    print()
    for port_id in first_ports[:50]:
        demo.call("POST", f"{net}/floatingips", {"floatingip": {"floating_network_id": ext["network"]["id"],
                                                                 "port_id": port_id}})


def baseline_seconds(port: int) -> float:
    """Every collection, page by page, with a bare keep-alive client (admin token, decoded)."""
    client = Client(port)
    client.login("admin", PASSWORD)
    started = time.perf_counter()
    for _name, path, key in COLLECTIONS:
        url = f"/networking/v2.0{path}?limit={PAGE_SIZE}"
        while url:
            _, body = client.call("GET", url)
            links = body.get(f"{key}_links", ())
            url = next((urlsplit(link["href"])._replace(scheme="", netloc="").geturl()
                        for link in links if link["rel"] == "next"), None) if body.get(key) else None
    return time.perf_counter() - started


def import_seconds(port: int, out: Path) -> dict:
    """``xloudnet import`` as a user runs it, with the time of each stage."""
    args = argparse.Namespace(url=f"http://127.0.0.1:{port}", os_username="admin", os_password=PASSWORD)
    started = time.perf_counter()
    conn = connect(args, {})
    logged_in = time.perf_counter()
    inventory = read_inventory(conn)
    read = time.perf_counter()
    scenario = to_scenario(inventory, "bench")
    built = time.perf_counter()
    out.write_text(scenario_yaml(scenario))
    done = time.perf_counter()
    conn.close()
    return {"total_s": done - started, "login_s": logged_in - started, "read_s": read - logged_in,
            "scenario_s": built - read, "yaml_s": done - built, "ports": len(inventory.ports)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ports", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    port = free_port()
    server = start_server(port, PASSWORD)
    try:
        admin, demo = Client(port), Client(port)
        admin.login("admin", PASSWORD)
        demo.login("demo", PASSWORD)
        populate(admin, demo, args.ports)
        out = Path(tempfile.mkdtemp(prefix="xloudnet-import-")) / "cloud.yaml"
        baselines, imports = [], []
        for _ in range(args.repeat):
            baselines.append(baseline_seconds(port))
            imports.append(import_seconds(port, out))
        # the command itself once, end to end (argument parsing, progress, writing the file)
        started = time.perf_counter()
        code = xloudnet_main(["import", "--url", f"http://127.0.0.1:{port}", "--user", "admin",
                              "--password", PASSWORD, "-o", str(out)])
        command_s = time.perf_counter() - started
        assert code == 0
    finally:
        server.terminate()
        server.wait(timeout=10)

    base = statistics.median(baselines)
    total = statistics.median(i["total_s"] for i in imports)
    stages = {k: statistics.median(i[k] for i in imports) for k in ("login_s", "read_s", "scenario_s", "yaml_s")}
    print(f"import of {imports[0]['ports']} ports (+ networks, router, groups, floating IPs), median of {args.repeat}:")
    print(f"  xloudnet import        {total:6.2f} s   (login {stages['login_s']:.2f}, read {stages['read_s']:.2f}, "
          f"scenario {stages['scenario_s']:.2f}, YAML {stages['yaml_s']:.2f}); the command once: {command_s:.2f} s")
    print(f"  baseline: paginated GET of every collection, bare client + orjson   {base:6.2f} s")
    print(f"  ratio to baseline {total / base:5.1f}x   target {TARGET_S:.0f} s: "
          f"{'met' if total < TARGET_S else 'MISSED'} ({total / TARGET_S:.2f} of it)   "
          f"file {out.stat().st_size / 1e6:.1f} MB")
    if args.json:
        args.json.write_text(json.dumps({"import_s": total, "baseline_s": base, "command_s": command_s,
                                         "stages": stages, "ports": imports[0]["ports"]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
