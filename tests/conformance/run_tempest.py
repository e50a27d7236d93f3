"""Start ``xloudnet serve``, render tempest.conf, run the upstream network API tests, summarise.

Called by ``run_tempest.sh`` (which prepares the tempest virtualenv). Prints passed / failed /
skipped, then every failure with the last line of its traceback and every skip reason grouped,
so a run can be read without opening tempest's logs. Exit status: 0 when nothing failed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
SELECTION = r"^(tempest\.api\.network|neutron_tempest_plugin\.api)\."
PASSWORD = "secret"
# Tests this server does not run, each with the reason (printed with the summary).
EXCLUDED = {
    r"test_allocate_ips_are_from_correct_subnet|test_update_subnet_service_types_bumps_revisions":
        "a member sets subnet service_types, which Neutron's default policy reserves to admins "
        "(create_subnet:service_types / update_subnet:service_types); xloudnet keeps that policy",
}
# devstack's public network, which the floating-IP and gateway tests use.
PUBLIC_CIDR, PUBLIC_GATEWAY = "172.24.4.0/24", "172.24.4.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = workdir / "xloudnet.yaml"
    # Dynamic credentials give every test class its own project. RoutersTest keeps each of its
    # routers until the class ends (11 in one project), one more than Neutron's default router
    # quota: like any cloud that runs these suites, the server gets room to spare.
    config.write_text(f"password: {PASSWORD}\nport: {port}\nquotas: {{router: 50}}\n")
    log = open(workdir / "server.log", "wb")
    # This checkout's sources, whichever checkout holds the editable install.
    env = {**os.environ, "PYTHONPATH": str(HERE.parent.parent / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "xloudnet.cli", "serve", "--config", str(config)],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/networking", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"xloudnet serve did not start; see {workdir / 'server.log'}")


def admin_client(base: str) -> httpx.Client:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "password": PASSWORD, "domain": {"name": "Default"}}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
    reply = httpx.post(f"{base}/identity/v3/auth/tokens", json=body)
    reply.raise_for_status()
    return httpx.Client(base_url=f"{base}/networking/v2.0",
                        headers={"X-Auth-Token": reply.headers["X-Subject-Token"]})


def provision_public(client: httpx.Client) -> str:
    net = client.post("/networks", json={"network": {"name": "public", "router:external": True}})
    net.raise_for_status()
    net_id = net.json()["network"]["id"]
    client.post("/subnets", json={"subnet": {
        "name": "public-subnet", "network_id": net_id, "ip_version": 4, "cidr": PUBLIC_CIDR,
        "gateway_ip": PUBLIC_GATEWAY, "enable_dhcp": False}}).raise_for_status()
    return net_id


def render_config(base: str, public_id: str, aliases: list[str]) -> str:
    return (HERE / "tempest.conf.in").read_text().format(
        identity=f"{base}/identity/v3", password=PASSWORD, public_id=public_id,
        extensions=",".join(sorted(aliases)))


def run(args: argparse.Namespace) -> int:
    venv = Path(args.venv).resolve()
    workdir = Path(args.workspace or tempfile.mkdtemp(prefix="xloudnet-tempest-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    proc, base = start_server(workdir)
    try:
        client = admin_client(base)
        public_id = provision_public(client)
        aliases = [e["alias"] for e in client.get("/extensions").json()["extensions"]]
        # Its own workspace registry, so runs never collide in ~/.tempest.
        subprocess.run([venv / "bin" / "tempest", "init", "--workspace-path", str(workdir / "workspace.yaml"),
                        str(workdir / "tempest")], check=True, capture_output=True)
        (workdir / "tempest" / "etc" / "tempest.conf").write_text(render_config(base, public_id, aliases))
        regex = SELECTION if not args.regex else f"{SELECTION}.*({args.regex})"
        print(f"tempest workspace {workdir / 'tempest'}; server {base}; {len(aliases)} extensions", flush=True)
        subprocess.run([venv / "bin" / "tempest", "run", "--regex", regex,
                        "--exclude-regex", "|".join(f"({r})" for r in EXCLUDED),
                        "--concurrency", str(args.concurrency)],
                       cwd=workdir / "tempest", stdout=open(workdir / "tempest-run.log", "wb"),
                       stderr=subprocess.STDOUT)
        stream = subprocess.run([venv / "bin" / "stestr", "last", "--subunit"], cwd=workdir / "tempest",
                                capture_output=True).stdout
        summary = subprocess.run([venv / "bin" / "python", HERE / "summarize.py"], input=stream,
                                 capture_output=True, check=True).stdout
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    result = json.loads(summary)
    (workdir / "summary.json").write_text(json.dumps(result, indent=1))
    print_summary(result)
    print(f"details: {workdir}/summary.json, tempest log {workdir}/tempest-run.log")
    return 1 if result["failed"] else 0


def print_summary(result: dict) -> None:
    print(f"\n{len(result['passed'])} passed, {len(result['failed'])} failed, {len(result['skipped'])} skipped")
    for test, reason in sorted(result["failed"].items()):
        print(f"FAILED {test}\n    {reason}")
    reasons: dict[str, list[str]] = {}
    for test, reason in result["skipped"].items():
        reasons.setdefault(reason, []).append(test)
    for reason, tests in sorted(reasons.items(), key=lambda item: -len(item[1])):
        print(f"SKIPPED x{len(tests)}: {reason}")
    for pattern, reason in EXCLUDED.items():
        print(f"EXCLUDED {pattern}: {reason}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("regex", nargs="?", help="only tests whose id matches this (after the suites' prefix)")
    parser.add_argument("--venv", required=True, help="virtualenv holding tempest and neutron-tempest-plugin")
    parser.add_argument("--workspace", help="keep tempest's workspace here (default: a new temporary folder)")
    parser.add_argument("--concurrency", type=int, default=2)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
