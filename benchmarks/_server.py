"""What the HTTP benchmarks share: a keep-alive JSON client and a `xloudnet serve` subprocess.

Kept beside the scripts (not in the package) because only benchmarks drive the server this way:
one raw ``http.client`` connection and orjson, the cheapest honest client, so the figures are
the server's cost and not the client library's.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time

import orjson

OK = (200, 201, 202, 204)


class Client:
    """A keep-alive JSON client on its own connection."""

    def __init__(self, port: int, timeout: float | None = None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.token = None
        self.project_id = None

    def call(self, method: str, path: str, body=None, expect=OK):
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["X-Auth-Token"] = self.token
        self.conn.request(method, path, body=orjson.dumps(body) if body is not None else None, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        if response.status not in expect:
            raise RuntimeError(f"{method} {path} -> {response.status}: {payload[:300]!r}")
        return response, (orjson.loads(payload) if payload else None)

    def fetch(self, path: str) -> bytes:
        """GET and read the whole body without decoding it: the server's cost, not the client's."""
        self.conn.request("GET", path, headers={"X-Auth-Token": self.token, "Accept": "application/json"})
        response = self.conn.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path} -> {response.status}: {payload[:300]!r}")
        return payload

    def login(self, user: str, password: str) -> None:
        """Password login scoped to the project named like the user (the built-in accounts)."""
        auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": password}}},
            "scope": {"project": {"name": user, "domain": {"name": "Default"}}}}}
        response, body = self.call("POST", "/identity/v3/auth/tokens", auth)
        self.token = response.getheader("X-Subject-Token")
        self.project_id = body["token"]["project"]["id"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, password: str, *args: str, wait_s: float = 30) -> subprocess.Popen:
    """``xloudnet serve --port PORT ARGS...`` with the accounts' password; returns once it listens."""
    proc = subprocess.Popen([sys.executable, "-m", "xloudnet.cli", "serve", "--port", str(port), *args],
                            env=dict(os.environ, XLOUDNET_PASSWORD=password),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.perf_counter() + wait_s
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not start: " + proc.stderr.read().decode()[-2000:])
