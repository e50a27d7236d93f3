"""A small client for a running xloudnet (or any Keystone + xloudnet endpoint).

It is handed a way to log in (``xloudnet.cloud.connection.login``: clouds.yaml, ``OS_*``, the
catalog, as the ``openstack`` CLI; or ``Credentials``: a root URL and a password), logs in on its
first call, and sends JSON with the token.
The CLI's question commands use it, so they work against any server a user can reach.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from .cloud.connection import Login, login


class ClientError(Exception):
    """The server refused a call; ``status`` and the server's ``message``."""

    def __init__(self, status: int, message: str, body=None):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.body = body


@dataclass
class Credentials:
    """A server root URL and a password login: the direct way for scripts and tests (the CLI
    resolves its options, ``OS_*`` and clouds.yaml instead)."""

    url: str = "http://127.0.0.1:9696"
    username: str = "admin"
    password: str = "secret"
    project: str | None = None
    domain: str = "Default"

    def login(self) -> Login:
        options = argparse.Namespace(url=self.url, os_username=self.username, os_password=self.password,
                                     os_project_name=self.project or self.username,
                                     os_user_domain_name=self.domain, os_project_domain_name=self.domain)
        return login(options, {})


class Client:
    """Authenticated JSON calls to the identity, networking and simulation services."""

    def __init__(self, login: Callable[[], Login] | Credentials, timeout: float = 120.0):
        self._login = login.login if isinstance(login, Credentials) else login
        self.timeout = timeout
        self.http: httpx.Client | None = None
        self.token: str | None = None
        self.endpoints: dict[str, str] = {}

    def login(self) -> None:
        session = self._login()
        self.token, self.endpoints = session.token, dict(session.endpoints)
        self.http = httpx.Client(timeout=self.timeout, verify=session.verify)

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
            raise ConnectionError(f"{url}: {type(exc).__name__}: {exc}") from None

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
