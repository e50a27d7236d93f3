"""Networking latency while another project runs the heaviest allowed analysis.

Starts ``xloudnet serve`` (subprocess, free loopback port), then:

1. idle: ``demo`` GETs ``/networking/v2.0/ports`` (one keep-alive connection) and records each
   request's latency: p50 / p99;
2. under load: ``alt_demo`` runs, in loops, an all-pairs matrix at the server's pair cap
   (``matrix_max_pairs``, default 1,000 × 1,000 endpoints) and the longest simulation job the limits
   allow (about ``MAX_PACKETS`` packets), while ``demo`` measures the same GETs again.

Prints both, the ratio (loaded / idle) and the target (p99 under load < 20 ms).

    python benchmarks/isolation_latency.py [--requests 3000] [--ports 1000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import multiprocessing
from concurrent.futures import ThreadPoolExecutor
import time

import orjson

from _server import Client, free_port, start_server

PASSWORD = "bench-secret"
TARGET_P99_MS = 20.0


def network_with_ports(client: Client, cidr: str, count: int) -> list[str]:
    _, net = client.call("POST", "/networking/v2.0/networks", {"network": {"name": "bench"}})
    net_id = net["network"]["id"]
    client.call("POST", "/networking/v2.0/subnets",
                {"subnet": {"network_id": net_id, "cidr": cidr, "ip_version": 4}})
    ids = []
    while len(ids) < count:
        n = min(500, count - len(ids))
        ports = [{"network_id": net_id, "device_owner": "compute:nova", "device_id": f"vm{len(ids) + i}"}
                 for i in range(n)]
        _, body = client.call("POST", "/networking/v2.0/ports", {"ports": ports})
        ids.extend(p["id"] for p in body["ports"])
    return ids


def latencies(client: Client, count: int) -> dict:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        client.call("GET", "/networking/v2.0/ports")
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50_ms": statistics.median(times), "p99_ms": times[int(len(times) * 0.99) - 1],
            "max_ms": times[-1], "requests": count}


class Load:
    """alt_demo's heaviest allowed analysis, in loops on two connections, in a separate process
    (so that the load's own client work — reading 15 MB answers — does not slow the measuring
    client), until stopped."""

    def __init__(self, port: int, ports: list[str], kinds: tuple[str, ...] = ("matrix", "simulation")):
        self.port, self.ports, self.kinds = port, ports, kinds
        self.stop = multiprocessing.Event()
        self.started = multiprocessing.Event()
        self.results = multiprocessing.Queue()

    def matrix_loop(self) -> dict:
        client = Client(self.port, timeout=120)
        client.login("alt_demo", PASSWORD)
        times = []
        while not self.stop.is_set():
            started = time.perf_counter()
            client.conn.request("POST", "/simulation/v1/reachability/matrix",
                                body=orjson.dumps({"protocol": "tcp", "destination_port": 22}),
                                headers={"X-Auth-Token": client.token, "Content-Type": "application/json"})
            response = client.conn.getresponse()
            payload = response.read()
            if response.status != 200:
                return {"matrix_s": times, "error": f"matrix -> {response.status}: {payload[:200]!r}"}
            times.append(time.perf_counter() - started)
            self.started.set()
        self.started.set()
        return {"matrix_s": times}

    def simulation_loop(self) -> dict:
        client = Client(self.port, timeout=120)
        client.login("alt_demo", PASSWORD)
        a, b = self.ports[0], self.ports[1]
        # 64 flows x 1 Mb/s x 23 s of 1500-byte packets: about 123k packets each run; the limit
        # is on offered packets per job, so this is long but allowed.
        flow = {"source": {"port_id": a}, "destination": {"port_id": b}, "protocol": "udp",
                "destination_port": 5001, "rate_kbps": 1000, "packet_size": 1500}
        body = {"flows": [flow] * 64, "duration_s": 23, "seed": 1}
        jobs = 0
        while not self.stop.is_set():
            _, job = client.call("POST", "/simulation/v1/simulations", body)
            job_id = job["simulation"]["id"]
            if "matrix" not in self.kinds:
                self.started.set()
            while not self.stop.is_set():
                _, view = client.call("GET", f"/simulation/v1/simulations/{job_id}")
                if view["simulation"]["status"] not in ("BUILD", "RUNNING"):
                    jobs += 1
                    break
                time.sleep(0.2)
            client.call("DELETE", f"/simulation/v1/simulations/{job_id}")
        return {"simulations": jobs}

    def _run(self) -> None:
        with ThreadPoolExecutor(2) as pool:
            parts = [pool.submit(getattr(self, f"{kind}_loop")) for kind in self.kinds]
            merged = {}
            for part in parts:
                try:
                    merged.update(part.result())
                except Exception as exc:  # noqa: BLE001 - reported, the run goes on
                    merged["error"] = str(exc)[:300]
                    self.started.set()
        self.results.put(merged)

    def __enter__(self):
        self.process = multiprocessing.get_context("fork").Process(target=self._run)
        self.process.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.summary = self.results.get(timeout=600)
        self.process.join()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="networking GETs per phase")
    parser.add_argument("--ports", type=int, default=1000, help="alt_demo's endpoints (matrix = ports²)")
    parser.add_argument("--workers", type=int, default=None, help="analysis_workers (default: the server's)")
    parser.add_argument("--threads", action="store_true",
                        help="run simulation jobs on the server's threads (simulation_processes: false)")
    parser.add_argument("--load", choices=["both", "matrix", "simulation"], default="both",
                        help="which heavy analysis runs during the second phase")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)

    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as config:
        config.write(f"quotas: {{port: {args.ports + 100}}}\nmatrix_max_pairs: {args.ports * args.ports}\n")
        if args.threads:
            config.write("simulation_processes: false\n")
        if args.workers:
            config.write(f"analysis_workers: {args.workers}\n")
    server = start_server(port, PASSWORD, "--config", config.name)
    try:
        demo = Client(port, timeout=120)
        demo.login("demo", PASSWORD)
        network_with_ports(demo, "10.1.0.0/24", 20)
        alt = Client(port, timeout=120)
        alt.login("alt_demo", PASSWORD)
        print(f"populating alt_demo with {args.ports} ports ...", flush=True)
        ports = network_with_ports(alt, "10.2.0.0/20", args.ports)
        latencies(demo, 200)  # warm-up
        idle = latencies(demo, args.requests)
        print(f"idle:        p50 {idle['p50_ms']:6.2f} ms   p99 {idle['p99_ms']:6.2f} ms   max {idle['max_ms']:6.1f} ms")
        kinds = ("matrix", "simulation") if args.load == "both" else (args.load,)
        with Load(port, ports, kinds) as load:
            load.started.wait(600)  # the first matrix has come back: the load is in full swing
            demo = Client(port, timeout=120)  # the idle connection may have passed uvicorn's keep-alive timeout
            demo.login("demo", PASSWORD)
            loaded = latencies(demo, args.requests)
        summary = load.summary
        if "error" in summary:
            print("load error:", summary["error"])
        matrix_s = summary.get("matrix_s") or [0.0]
        print(f"under load:  p50 {loaded['p50_ms']:6.2f} ms   p99 {loaded['p99_ms']:6.2f} ms   "
              f"max {loaded['max_ms']:6.1f} ms   ({len(summary.get('matrix_s', []))} matrices of "
              f"{args.ports}x{args.ports}, median {statistics.median(matrix_s):.2f} s; "
              f"{summary.get('simulations', 0)} long simulations finished)")
        ratio = loaded["p99_ms"] / idle["p99_ms"]
        verdict = "meets" if loaded["p99_ms"] < TARGET_P99_MS else "MISSES"
        print(f"p99 loaded / idle: {ratio:.1f}x   target p99 under load < {TARGET_P99_MS:.0f} ms: {verdict}")
        if args.json:
            with open(args.json, "w") as out:
                json.dump({"idle": idle, "loaded": loaded, "ratio_p99": ratio, **summary}, out, indent=2)
    finally:
        server.terminate()
        server.wait(timeout=30)
        os.unlink(config.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
