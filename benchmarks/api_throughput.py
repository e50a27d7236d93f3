"""API throughput against the real server, over HTTP with one keep-alive client.

Starts ``xloudnet serve`` on a free loopback port, logs in through Keystone v3 like a client,
then measures:

- POST /v2.0/ports per second (IPAM included), with 1k ports present and with 100k;
- GET /v2.0/ports?limit=100 pages per second, at 1k and at 100k ports (the client reads every
  byte of each page; a second figure also decodes each page's JSON on the client side);
- GET of all ports (1000 of them) in one call.

Each figure is printed with its ratio to real Neutron 29 measured on this kind of machine
(9.4 creates/s, 11 list pages/s, 0.8 s for all 1000 ports) and to the target. The 100k
population is loaded with bulk POSTs (1000 ports per request) to keep the run short.

    python benchmarks/api_throughput.py [--large 100000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from _server import Client, free_port, start_server  # keep-alive orjson client, `xloudnet serve` subprocess

PASSWORD = "bench-secret"
NEUTRON = {"create_per_s": 9.4, "pages_per_s": 11.0, "list_1000_s": 0.8}
TARGET = {"create_per_s": 1000.0, "pages_per_s": 2000.0, "list_1000_s": 0.015}


def rate(fn, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        fn()
    return count / (time.perf_counter() - started)


def populate(client: Client, network_id: str, total: int, existing: int) -> None:
    batch = 1000
    done = existing
    while done < total:
        n = min(batch, total - done)
        client.call("POST", "/networking/v2.0/ports",
                    {"ports": [{"network_id": network_id, "name": f"p{done + i}"} for i in range(n)]})
        done += n
        print(f"\r  populating: {done}/{total} ports", end="", flush=True)
    print()


def measure(client: Client, network_id: str, label: str, creates: int, pages: int) -> dict:
    body = {"port": {"network_id": network_id}}
    create_rate = rate(lambda: client.call("POST", "/networking/v2.0/ports", body), creates)
    ids = [p["id"] for p in client.call("GET", "/networking/v2.0/ports?limit=1000&fields=id")[1]["ports"]]
    marker = ids[len(ids) // 2]
    path = f"/networking/v2.0/ports?limit=100&marker={marker}"
    page_rate = rate(lambda: client.fetch(path), pages)
    decoded_rate = rate(lambda: client.call("GET", path), pages)
    print(f"  [{label}] creates/s {create_rate:8.0f}   pages(limit=100)/s {page_rate:8.0f}"
          f"   (client also decoding each 89 KB page: {decoded_rate:.0f}/s)")
    return {"create_per_s": create_rate, "pages_per_s": page_rate, "pages_decoded_per_s": decoded_rate,
            "create_ms": 1000 / create_rate, "page_ms": 1000 / page_rate}


def list_all_seconds(client: Client, repeat: int = 30) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        _, body = client.call("GET", "/networking/v2.0/ports")
        times.append(time.perf_counter() - started)
    assert len(body["ports"]) == 1000, len(body["ports"])
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--large", type=int, default=100_000, help="population for the scale comparison")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)

    port = free_port()
    started = time.perf_counter()
    server = start_server(port, PASSWORD)
    startup = time.perf_counter() - started
    try:
        client = Client(port)
        client.login("admin", PASSWORD)
        client.call("PUT", f"/networking/v2.0/quotas/{client.project_id}", {"quota": {"port": -1}})
        net = client.call("POST", "/networking/v2.0/networks", {"network": {"name": "bench"}})[1]["network"]
        client.call("POST", "/networking/v2.0/subnets", {"subnet": {
            "network_id": net["id"], "ip_version": 4, "cidr": "10.0.0.0/13"}})
        print(f"server up in {startup:.2f} s on port {port}")
        populate(client, net["id"], 1000, 0)
        all_1000 = list_all_seconds(client)
        print(f"  GET all 1000 ports: {all_1000 * 1000:.1f} ms")
        small = measure(client, net["id"], "1k ports", creates=2000, pages=2000)
        count = len(client.call("GET", "/networking/v2.0/ports?fields=id")[1]["ports"])
        populate(client, net["id"], args.large, count)
        large = measure(client, net["id"], f"{args.large // 1000}k ports", creates=2000, pages=2000)
    finally:
        server.terminate()
        server.wait(timeout=10)

    figures = {
        "startup_s": startup,
        "create_per_s": small["create_per_s"],
        "pages_per_s": small["pages_per_s"],
        "pages_decoded_per_s": small["pages_decoded_per_s"],
        "list_1000_s": all_1000,
        "create_cost_ratio_large_vs_1k": large["create_ms"] / small["create_ms"],
        "page_cost_ratio_large_vs_1k": large["page_ms"] / small["page_ms"],
    }
    print()
    print(f"{'figure':34} {'xloudnet':>12} {'Neutron 29':>12} {'ratio':>10} {'target':>10}")
    for key, unit in (("create_per_s", "/s"), ("pages_per_s", "/s"), ("list_1000_s", " s")):
        mine, theirs = figures[key], NEUTRON[key]
        ratio = mine / theirs if unit == "/s" else theirs / mine
        ok = mine >= TARGET[key] if unit == "/s" else mine <= TARGET[key]
        print(f"{key:34} {mine:12.4g} {theirs:12.4g} {ratio:9.0f}x {'met' if ok else 'MISSED':>10}")
    for key in ("create_cost_ratio_large_vs_1k", "page_cost_ratio_large_vs_1k"):
        ok = figures[key] <= 1.3
        print(f"{key:34} {figures[key]:12.2f} {'':>12} {'':>10} {'met' if ok else 'MISSED':>10}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
