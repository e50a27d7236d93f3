"""``xloudnet run`` on a generated 10k-port scenario (no traffic), end to end, in this process.

Generates a scenario — networks of 200 servers behind one router with floating IPs on some,
security groups referring to each other, a handful of intents over thousands of pairs — writes
it to a temporary file and times each stage of ``run_file``. Baseline (same run): creating the
same resources by direct service calls (no YAML, no references, no interpreter), so the ratio
shows what the scenario machinery costs on top of the control plane itself.

    PYTHONPATH=src python benchmarks/scenario_run.py [--ports 10000]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from xloudnet.control.context import Context
from xloudnet.control.plane import ControlPlane
from xloudnet.scenarios.runner import run_file

PER_NETWORK = 200
TIERS = ("web", "app", "db", "cache")


def generate(ports: int) -> str:
    """A scenario with ``ports`` servers (YAML text)."""
    networks = max(1, ports // PER_NETWORK)
    out = ["name: generated", "networks:", "  - {name: public, project: admin, external: true}"]
    out += [f"  - {{name: net{n}}}" for n in range(networks)]
    out += ["subnets:", "  - {name: public-sub, project: admin, network: public, cidr: 100.64.0.0/16, enable_dhcp: false}"]
    out += [f"  - {{name: sub{n}, network: net{n}, cidr: 10.{n // 256}.{n % 256}.0/24}}" for n in range(networks)]
    out += ["routers:", "  - name: edge", "    external_gateway_info: {network: public}",
            "    interfaces: [" + ", ".join(f"sub{n}" for n in range(networks)) + "]"]
    out += ["security_groups:"]
    for i, tier in enumerate(TIERS):
        out += [f"  - name: {tier}", "    rules:"]
        out += [f"      - {{direction: ingress, protocol: tcp, port_range_min: {8000 + i}, port_range_max: {8000 + i}, "
                f"remote_group: {TIERS[i - 1]}}}"]
        out += ["      - {direction: ingress, protocol: tcp, port_range_min: 22, port_range_max: 22, "
                "remote_ip_prefix: 10.0.0.0/8}"]
    out += ["      - {direction: ingress, protocol: tcp, port_range_min: 443, port_range_max: 443, "
            "remote_ip_prefix: 0.0.0.0/0}"]  # the last tier's group takes https from anywhere
    out += ["servers:"]
    for p in range(ports):
        tier = TIERS[p % len(TIERS)]
        fip = ", floating_ip: public" if p % 200 == len(TIERS) - 1 else ""
        out.append(f"  - {{name: vm{p}, network: net{p // PER_NETWORK % networks}, security_groups: [{tier}], "
                   f"tags: [{tier}]{fip}}}")
    out += ["expect:",
            "  - name: every web server reaches vm1 (app) on its port",
            "    reach: {from: {tag: web}, to: vm1, protocol: tcp, port: 8001}",
            "  - name: ssh from every app server to vm0",
            "    reach: {from: {tag: app}, to: vm0, protocol: tcp, port: 22}",
            "  - name: app to db is exactly 8002 and ssh",
            "    only: {from: vm1, to: vm2, services: [tcp/8002, tcp/22]}",
            "  - name: the internet reaches no database",
            "    isolated: {from: internet, to: vm2}",
            "  - name: exposure is https on the cache tier",
            "    exposure:",
            "      within: [{to: {tag: cache}, services: [tcp/443, tcp/22]}]"]  # 22: hosts in 10/8 outside the cloud
    return "\n".join(out) + "\n"


def baseline(ports: int) -> float:
    """The same networks, subnets, groups and servers by direct service calls."""
    from xloudnet.control.resources.quotas import DEFAULTS

    plane = ControlPlane(quotas={name: -1 for name in DEFAULTS})
    ctx = Context(project_id="p", roles=frozenset({"member", "reader"}))
    start = time.perf_counter()
    networks = max(1, ports // PER_NETWORK)
    nets = []
    for n in range(networks):
        net = plane.networks.create(ctx, {"name": f"net{n}"})
        plane.subnets.create(ctx, {"network_id": net["id"], "cidr": f"10.{n // 256}.{n % 256}.0/24", "ip_version": 4})
        nets.append(net["id"])
    groups = [plane.security_groups.create(ctx, {"name": t})["id"] for t in TIERS]
    for p in range(ports):
        plane.ports.create(ctx, {"name": f"vm{p}", "network_id": nets[p // PER_NETWORK % networks],
                                 "security_groups": [groups[p % len(TIERS)]], "device_owner": "compute:nova",
                                 "device_id": f"d{p}", "tags": [TIERS[p % len(TIERS)]]})
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--default-gc", action="store_true", help="keep Python's default GC thresholds")
    args = parser.parse_args(argv)
    if not args.default_gc:
        gc.set_threshold(50_000, 20, 10)  # as `xloudnet run` does (see cli/run.py)
    text = generate(args.ports)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "generated.yaml"
        path.write_text(text)
        runs, cpu, failed = [], [], False
        for _ in range(args.repeat):
            started = time.process_time()
            run = run_file(path, traffic=False)
            cpu.append(time.process_time() - started)  # robust to other processes on the machine
            failed |= run.failed
            runs.append(run.timings)
    base = statistics.median(baseline(args.ports) for _ in range(args.repeat))
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"scenario: {args.ports:,} servers, {len(text.splitlines()):,} YAML lines; intents "
          f"{'FAIL' if failed else 'hold'}")
    for key in ("load", "provision", "compile", "intents", "total"):
        print(f"  {key:<10} {med[key]:7.3f} s")
    print(f"  CPU time of the whole run: {statistics.median(cpu):.3f} s (wall time above includes waiting for a core)")
    print(f"baseline (direct service calls, same resources minus router/FIPs): {base:.3f} s")
    print(f"ratio run total / baseline: {med['total'] / base:.2f}x; provision / baseline: {med['provision'] / base:.2f}x")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} while measuring")
    cpu_s = statistics.median(cpu)
    print(f"target total < 5 s: wall {med['total']:.2f} s {'met' if med['total'] < 5 else 'NOT met'}; "
          f"CPU {cpu_s:.2f} s {'met' if cpu_s < 5 else 'NOT met'} (wall on an idle core ≈ CPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
