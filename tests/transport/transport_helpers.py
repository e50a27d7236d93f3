"""Helpers for the transport tests (imported by name): log in, start a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

PASSWORD = "transport-pw"


def password_auth(user: str) -> dict:
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": PASSWORD}}},
        "scope": {"project": {"name": user, "domain": {"name": "Default"}}}}}


def login(http, user: str) -> str:
    response = http.post("/identity/v3/auth/tokens", json=password_auth(user))
    assert response.status_code == 201, response.text
    return response.headers["x-subject-token"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A running ``xloudnet serve`` subprocess and where its logs go."""

    proc: subprocess.Popen
    base: str
    stderr: Path

    def log(self) -> str:
        return self.stderr.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_server(workdir: Path, config: str = "", log_level: str = "info") -> Server:
    """Start the real server with ``config`` (YAML) and wait until it answers."""
    port = free_port()
    config_path = workdir / "xloudnet.yaml"
    config_path.write_text(f"password: {PASSWORD}\n{config}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_") and k != "XLOUDNET_PASSWORD"}
    stderr = workdir / "stderr.log"
    command = [sys.executable, "-m", "xloudnet.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--config", str(config_path), "--log-level", log_level]
    with open(stderr, "wb") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env)
    server = Server(proc, f"http://127.0.0.1:{port}", stderr)
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited at start-up:\n{server.log()}")
        try:
            if httpx.get(f"{server.base}/networking", timeout=1.0).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"server did not answer:\n{server.log()}")
        time.sleep(0.05)


def make_ports(http, token: str, count: int, cidr: str = "10.20.0.0/22") -> list[str]:
    """A network, a subnet and ``count`` VM ports in the token's project (through the API)."""
    headers = {"X-Auth-Token": token}

    def create(collection, key, body):
        response = http.post(f"/networking/v2.0/{collection}", json={key: body}, headers=headers)
        assert response.status_code == 201, response.text
        return response.json()[key]

    net = create("networks", "network", {"name": "n"})
    create("subnets", "subnet", {"network_id": net["id"], "cidr": cidr, "ip_version": 4})
    return [create("ports", "port", {"network_id": net["id"], "device_owner": "compute:nova",
                                     "device_id": f"vm{i}"})["id"] for i in range(count)]


def job_body(a: str, b: str, rate_kbps: float = 2000, duration_s: float = 1.0, flows: int = 1,
             name: str | None = None, engine: str | None = None) -> dict:
    flow = {"source": {"port_id": a}, "destination": {"port_id": b}, "protocol": "udp",
            "destination_port": 5001, "rate_kbps": rate_kbps}
    body = {"flows": [dict(flow, name=f"{name}-{i}") if name else flow for i in range(flows)],
            "duration_s": duration_s, "seed": 1}
    if engine is not None:
        body["engine"] = engine
    return body


def wait_for(predicate, timeout: float = 60.0, every: float = 0.02):
    """Poll ``predicate`` until it returns something truthy; that value (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(every)
