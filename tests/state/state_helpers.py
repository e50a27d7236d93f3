"""A real ``xloudnet serve --state DIR`` subprocess that tests can kill -9 and start again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

PASSWORD = "state-Secret-pw"
STARTUP_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StateServer:
    """One server process at a time on ``state_dir``; ``start`` again after ``kill``."""

    def __init__(self, state_dir: Path, extra_args: tuple[str, ...] = ()):
        self.state_dir = Path(state_dir)
        self.extra_args = extra_args
        self.proc: subprocess.Popen | None = None
        self.base = ""
        self.log = self.state_dir.parent / f"{self.state_dir.name}-server.log"

    def start(self) -> str:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env["XLOUDNET_PASSWORD"] = PASSWORD
        command = [sys.executable, "-m", "xloudnet.cli", "serve", "--host", "127.0.0.1",
                   "--port", str(port), "--state", str(self.state_dir), *self.extra_args]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        self.base = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited at start-up:\n{self.log.read_text()[-4000:]}")
            try:
                if httpx.get(f"{self.base}/networking", timeout=1.0).status_code == 200:
                    return self.base
            except httpx.TransportError:
                pass
            if time.monotonic() - started > STARTUP_TIMEOUT_S:
                self.kill()
                raise AssertionError(f"server did not answer:\n{self.log.read_text()[-4000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        """``kill -9``: no chance to flush or close anything."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None


def login(base: str, user: str = "demo", project: str | None = None, password: str = PASSWORD) -> str:
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": project or user, "domain": {"name": "Default"}}},
    }}
    response = httpx.post(f"{base}/identity/v3/auth/tokens", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.headers["x-subject-token"]


def client(base: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=f"{base}/networking/v2.0", headers={"X-Auth-Token": token}, timeout=30)
