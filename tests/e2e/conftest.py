"""End-to-end fixtures: the REAL server as a subprocess, openstacksdk connections and the
``openstack`` CLI pointed at it.

One server per session (``python -m xloudnet.cli serve`` on a free loopback port, with a test
password); tests stay independent by giving every resource a unique name and cleaning up what
they create (quotas are real: 10 routers and 10 security groups per project).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from e2e_helpers import PASSWORD, connect

STARTUP_BUDGET_S = 2.0  # what a user should expect; the fixture waits longer before failing
STARTUP_TIMEOUT_S = 20.0
CLI_TIMEOUT_S = 120

_server_info: dict = {}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _clean_env() -> dict[str, str]:
    """The environment without any OS_* variables that could point clients elsewhere."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OS_")}


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """Start ``xloudnet serve`` on a free port, wait until it answers, yield its base URL."""
    port = _free_port()
    logdir = Path(tempfile.mkdtemp(prefix="xloudnet-e2e-"))
    stdout_path, stderr_path = logdir / "stdout.log", logdir / "stderr.log"
    env = {**_clean_env(), "XLOUDNET_PASSWORD": PASSWORD}
    command = [sys.executable, "-m", "xloudnet.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env)
    _server_info.update(pid=proc.pid, stderr=stderr_path, command=" ".join(command))

    def logs() -> str:
        return (
            f"command: {' '.join(command)}\nexit code: {proc.poll()}\n"
            f"--- stderr ---\n{stderr_path.read_text(errors='replace')[-6000:]}\n"
            f"--- stdout ---\n{stdout_path.read_text(errors='replace')[-2000:]}"
        )

    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"xloudnet serve exited during start-up\n{logs()}", pytrace=False)
            try:
                if httpx.get(f"{base}/networking", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() - started > STARTUP_TIMEOUT_S:
                pytest.fail(f"xloudnet serve did not answer within {STARTUP_TIMEOUT_S}s\n{logs()}", pytrace=False)
            time.sleep(0.05)
        _server_info["startup_s"] = time.monotonic() - started
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        _server_info["log"] = stderr_path.read_text(errors="replace")


def pytest_terminal_summary(terminalreporter):
    """Report the server's start-up time and any tracebacks (500s) it logged."""
    if not _server_info:
        return
    startup = _server_info.get("startup_s")
    if startup is not None:
        note = "" if startup <= STARTUP_BUDGET_S else f"  (over the {STARTUP_BUDGET_S}s budget)"
        terminalreporter.write_line(f"e2e: xloudnet serve answered after {startup:.2f}s{note}")
    log = _server_info.get("log", "")
    tracebacks = log.count("Traceback (most recent call last)")
    if tracebacks:
        terminalreporter.write_line(
            f"e2e: the server logged {tracebacks} traceback(s); full log: {_server_info['stderr']}"
        )


# --- openstacksdk ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def admin_conn(server):
    conn = connect(server, "admin")
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def demo_conn(server):
    conn = connect(server, "demo")
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def alt_conn(server):
    conn = connect(server, "alt_demo")
    yield conn
    conn.close()


@pytest.fixture
def name(request) -> Callable[[str], str]:
    """``name("net")`` → a name unique to this test run (``net-<test>-<random>``)."""
    test = request.node.name.replace("test_", "").replace("[", "-").replace("]", "")[:24]

    def make(kind: str) -> str:
        return f"{kind}-{test}-{uuid.uuid4().hex[:6]}"

    return make


@pytest.fixture
def cleanup() -> Iterator[Callable[[Callable[[], object]], None]]:
    """Register undo actions; they run in reverse order after the test, ignoring NotFound."""
    from openstack import exceptions

    actions: list[Callable[[], object]] = []
    yield actions.append
    errors = []
    for action in reversed(actions):
        try:
            action()
        except exceptions.NotFoundException:
            pass
        except Exception as exc:  # noqa: BLE001 - report, but keep undoing the rest
            errors.append(f"{action}: {exc!r}")
    if errors:
        print("cleanup problems:\n" + "\n".join(errors))


@pytest.fixture(scope="session")
def external_network(admin_conn, server):
    """An external network with an IPv4 subnet, made by admin (the cloud's public network)."""
    suffix = uuid.uuid4().hex[:6]
    network = admin_conn.network.create_network(name=f"public-{suffix}", is_router_external=True)
    subnet = admin_conn.network.create_subnet(
        name=f"public-subnet-{suffix}",
        network_id=network.id,
        ip_version=4,
        cidr="172.24.4.0/24",
        gateway_ip="172.24.4.1",
        is_dhcp_enabled=False,
    )
    yield network, subnet
    # Best effort: tests release their floating IPs and gateways.
    try:
        admin_conn.network.delete_network(network, ignore_missing=True)
    except Exception:  # noqa: BLE001
        pass


# --- the openstack CLI -------------------------------------------------------------------------


class CLI:
    """Runs ``openstack`` (python-openstackclient) as a given user against the server."""

    def __init__(self, base: str):
        self.base = base
        self.calls: list[tuple[str, float]] = []

    def env(self, user: str, project: str | None = None) -> dict[str, str]:
        return {
            **_clean_env(),
            "OS_AUTH_URL": f"{self.base}/identity/v3",
            "OS_USERNAME": user,
            "OS_PASSWORD": PASSWORD,
            "OS_PROJECT_NAME": project or user,
            "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default",
            "OS_IDENTITY_API_VERSION": "3",
            "OS_INTERFACE": "public",
            "OS_REGION_NAME": "RegionOne",
        }

    def run(self, *args: str, user: str = "demo", check: bool = True) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "openstackclient.shell", *args]
        started = time.monotonic()
        result = subprocess.run(
            command, env=self.env(user), capture_output=True, text=True, timeout=CLI_TIMEOUT_S
        )
        self.calls.append((" ".join(args), time.monotonic() - started))
        if check and result.returncode != 0:
            pytest.fail(
                f"`openstack {' '.join(args)}` as {user} exited {result.returncode}\n"
                f"--- stdout ---\n{result.stdout[-3000:]}\n--- stderr ---\n{result.stderr[-3000:]}",
                pytrace=False,
            )
        return result

    def json(self, *args: str, user: str = "demo"):
        """Run with ``-f json`` and parse the output."""
        result = self.run(*args, "-f", "json", user=user)
        try:
            return json.loads(result.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"`openstack {' '.join(args)}` printed no JSON:\n{result.stdout[-2000:]}", pytrace=False)

    def fails(self, *args: str, user: str = "demo") -> subprocess.CompletedProcess:
        result = self.run(*args, user=user, check=False)
        assert result.returncode != 0, f"`openstack {' '.join(args)}` should have failed:\n{result.stdout}"
        return result


@pytest.fixture(scope="session")
def cli(server) -> CLI:
    return CLI(server)
