"""`xloudnet serve --scenario FILE` starts with the scenario provisioned, owned by the
identity projects of the same names; a bad file stops start-up with its problems (exit 2)."""

import os
import socket
import subprocess
import sys
import time

import httpx
from scenario_cases import SHIPPED

from xloudnet.client import Client, Credentials


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env() -> dict:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("OS_")}, "XLOUDNET_PASSWORD": "pw"}


def test_serve_starts_with_the_scenario_loaded():
    port = _free_port()
    three_tier = next(p for p in SHIPPED if p.stem == "three-tier")
    proc = subprocess.Popen([sys.executable, "-m", "xloudnet.cli", "serve", "--host", "127.0.0.1", "--port",
                             str(port), "--scenario", str(three_tier)], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()
            try:
                if httpx.get(f"{base}/networking", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.05)
        demo = Client(Credentials(url=base, username="demo", password="pw", project="demo"))
        ports = demo.call("network", "GET", "/v2.0/ports?device_owner=compute:nova")["ports"]
        assert sorted(p["name"] for p in ports) == ["app-1", "bastion", "db-1", "web-1", "web-2"]
        networks = {n["name"] for n in demo.call("network", "GET", "/v2.0/networks")["networks"]}
        assert {"public", "web-net", "db-net"} <= networks  # the external network is admin's, visible
        db = next(p for p in ports if p["name"] == "db-1")
        answer = demo.simulation("POST", "/reachability", {
            "source": {"port_id": next(p["id"] for p in ports if p["name"] == "app-1")},
            "destination": {"port_id": db["id"]}, "protocol": "tcp", "destination_port": 5432})
        assert answer["disposition"] == "ACCEPTED"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_refuses_a_bad_scenario_with_its_problems(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("networks:\n  - {name: n}\nsubnets:\n  - {name: s, network: m, cidr: 10.0.0.0/24}\n")
    result = subprocess.run([sys.executable, "-m", "xloudnet.cli", "serve", "--port", str(_free_port()),
                             "--scenario", str(bad)], env=_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"{bad}:4: subnets[0].network: network 'm' is not defined" in result.stderr
