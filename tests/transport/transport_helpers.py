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
