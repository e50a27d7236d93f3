"""A real uvicorn server on a free loopback port with ``sim_helpers.build_topology`` built through
the Neutron API, and ``run``: the ``xloudnet`` command in-process against it (as demo, or
``user=``), returning (exit code, stdout, stderr). Each test module that imports these gets its
own server."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import uvicorn
from sim_helpers import PASSWORD, Caller, build_topology, login

from xloudnet.api.app import create_app
from xloudnet.cli import main
from xloudnet.control.plane import ControlPlane
from xloudnet.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """A real uvicorn server on a free port with a topology built through the API."""
    port = free_port()
    settings = Settings(password=PASSWORD, host="127.0.0.1", port=port)
    config = uvicorn.Config(create_app(ControlPlane(), settings), host="127.0.0.1", port=port, log_level="error")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=30) as http:
        callers = [Caller(http, login(http, user)) for user in ("admin", "demo", "alt_demo")]
        topo = build_topology(*callers)
    yield base, topo
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def run(server, capsys, monkeypatch):
    """Run ``xloudnet ARGS`` as demo (or ``user=``); returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("COLUMNS", "250")  # wide rich tables: ids are not folded
    for name in ("OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME", "XLOUDNET_URL"):
        monkeypatch.delenv(name, raising=False)

    def _run(*args, user="demo"):
        code = main([*args, "--url", server[0], "--user", user, "--password", PASSWORD])
        out = capsys.readouterr()
        return code, out.out, out.err
    return _run


@pytest.fixture
def topo(server):
    return server[1]
