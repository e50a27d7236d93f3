"""A small client for a running xloudnet (or any Keystone + xloudnet endpoint).

Logs in with a password through Keystone v3, finds the endpoints in the catalog, and calls them.
The CLI's question commands use it, so they work against any server a user can reach.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx


class ClientError(Exception):
    """The server refused a call; ``status`` and the server's ``message``."""

    def __init__(self, status: int, message: str, body=None):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.body = body


@dataclass
class Credentials:
    url: str = "http://127.0.0.1:9696"
    username: str = "admin"
    password: str = "secret"
    project: str | None = None
    domain: str = "Default"


class Client:
    """Authenticated JSON calls to the identity, networking and simulation services."""

    def __init__(self, credentials: Credentials, timeout: float = 120.0):
        self.credentials = credentials
        self.http = httpx.Client(timeout=timeout)
        self.token: str | None = None
        self.endpoints: dict[str, str] = {}

    def login(self) -> None:
        c = self.credentials
        auth = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": c.username, "domain": {"name": c.domain}, "password": c.password}}},
            "scope": {"project": {"name": c.project or c.username, "domain": {"name": c.domain}}},
        }}
        response = self._send("POST", c.url.rstrip("/") + "/identity/v3/auth/tokens", json=auth)
        self._raise_for(response)
        self.token = response.headers["X-Subject-Token"]
        for entry in response.json()["token"].get("catalog", []):
            for endpoint in entry["endpoints"]:
                if endpoint["interface"] == "public":
                    self.endpoints[entry["type"]] = endpoint["url"].rstrip("/")

    def call(self, service: str, method: str, path: str, body=None):
        """``service`` is a catalog type: ``network`` or ``network-simulation``."""
        if self.token is None:
            self.login()
        url = self.endpoints[service] + path
        response = self._send(method, url, json=body, headers={"X-Auth-Token": self.token})
        self._raise_for(response)
        return response.json() if response.content else None

    def _send(self, method: str, url: str, **kwargs) -> httpx.Response:
        try:
            return self.http.request(method, url, **kwargs)
        except httpx.TransportError as exc:  # refused, timed out, reset: an OSError for callers
            raise ConnectionError(f"{type(exc).__name__}: {exc}") from None

    def simulation(self, method: str, path: str, body=None):
        return self.call("network-simulation", method, "/v1" + path, body)

    @staticmethod
    def _raise_for(response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        try:
            body = response.json()
        except ValueError:
            raise ClientError(response.status_code, response.text[:300]) from None
        inner = next(iter(body.values())) if isinstance(body, dict) and body else {}
        message = inner.get("message", str(body)) if isinstance(inner, dict) else str(body)
        raise ClientError(response.status_code, message, body)
