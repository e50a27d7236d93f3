"""POST /v2.0/ports per second with ``serve --state`` against the in-memory server, same run.

Starts the real server three ways — in memory, ``--state DIR`` (the default ``state_sync:
normal``), and ``--state DIR`` with ``state_sync: full`` (every answer waits for an fsync) — and drives each with one
keep-alive client (IPAM included), alternating the modes over several rounds and keeping each
mode's median. Then restarts the durable server on the directory it filled and times the
start-up (restoring every port) against a fresh start.

    python benchmarks/state_throughput.py [--creates 3000] [--rounds 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from api_throughput import NEUTRON, Client, free_port, rate

TARGET_PER_S = 1000.0
PASSWORD = "bench-secret"


def start(args: list[str]) -> tuple[subprocess.Popen, int, float]:
    port = free_port()
    env = dict(os.environ, XLOUDNET_PASSWORD=PASSWORD)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "xloudnet.cli", "serve", "--port", str(port), *args],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while time.perf_counter() - started < 120:
        try:
            client = Client(port)
            client.call("GET", "/networking")
            return proc, port, time.perf_counter() - started
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError("server did not start: " + proc.stderr.read().decode()[-2000:])


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def creates_per_s(args: list[str], creates: int) -> float:
    proc, port, _ = start(args)
    try:
        client = Client(port)
        client.login("admin", PASSWORD)
        client.call("PUT", f"/networking/v2.0/quotas/{client.project_id}", {"quota": {"port": -1}})
        net = client.call("POST", "/networking/v2.0/networks", {"network": {"name": "bench"}})[1]["network"]
        client.call("POST", "/networking/v2.0/subnets", {"subnet": {
            "network_id": net["id"], "ip_version": 4, "cidr": "10.0.0.0/13"}})
        body = {"port": {"network_id": net["id"]}}
        rate(lambda: client.call("POST", "/networking/v2.0/ports", body), 200)  # warm up
        return rate(lambda: client.call("POST", "/networking/v2.0/ports", body), creates)
    finally:
        stop(proc)


def commit_latency_ms(directory: Path, sync: str, commits: int = 300) -> float:
    """Median time of one tiny SQLite commit in this directory: what the disk charges per
    acknowledged write (with ``full`` it is an fsync, and varies with the disk's other load)."""
    db = sqlite3.connect(directory / f"probe-{sync}.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={sync}")
    db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")
    times = []
    for k in range(commits):
        started = time.perf_counter()
        db.execute("BEGIN")
        db.execute("INSERT INTO t VALUES (?, ?)", (k, b"x" * 900))
        db.execute("COMMIT")
        times.append(time.perf_counter() - started)
    db.close()
    return statistics.median(times) * 1000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=3000, help="timed creates per round and mode")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="xloudnet-state-bench-"))
    full_config = work / "full.yaml"
    full_config.write_text("state_sync: full\n")
    modes = {
        "in memory": lambda r: [],
        "--state (sync normal)": lambda r: ["--state", str(work / f"normal-{r}")],
        "--state (sync full)": lambda r: ["--state", str(work / f"full-{r}"), "--config", str(full_config)],
    }
    results: dict[str, list[float]] = {name: [] for name in modes}
    for r in range(args.rounds):
        for name, make_args in modes.items():
            results[name].append(creates_per_s(make_args(r), args.creates))
            print(f"\r  round {r + 1}/{args.rounds}: {name:24} {results[name][-1]:8.0f} creates/s", flush=True)
    figures = {name: statistics.median(values) for name, values in results.items()}

    # Restart on a filled directory: how long restoring takes.
    proc, _, fresh_start = start([])
    stop(proc)
    filled = work / "normal-0"
    proc, port, restored_start = start(["--state", str(filled)])
    client = Client(port)
    client.login("admin", PASSWORD)
    ports = len(client.call("GET", "/networking/v2.0/ports?fields=id")[1]["ports"])
    stop(proc)

    commit_ms = {sync: commit_latency_ms(work, sync) for sync in ("full", "normal")}
    memory = figures["in memory"]
    print()
    print(f"{'mode':26} {'creates/s':>10} {'vs memory':>10} {'vs Neutron':>11} {'target':>8}")
    for name, value in figures.items():
        ok = "met" if value >= TARGET_PER_S else "MISSED"
        print(f"{name:26} {value:10.0f} {value / memory:9.2f}x {value / NEUTRON['create_per_s']:10.0f}x {ok:>8}")
    print(f"start-up: fresh {fresh_start:.2f} s, restoring {ports} ports {restored_start:.2f} s")
    print(f"one SQLite commit on this disk now: full {commit_ms['full']:.2f} ms (fsync), "
          f"normal {commit_ms['normal']:.3f} ms")
    if args.json:
        out = {"creates_per_s": figures, "commit_ms": commit_ms, "fresh_start_s": fresh_start,
               "restore_start_s": restored_start, "restored_ports": ports}
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
