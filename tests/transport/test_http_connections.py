"""Over real HTTP (the real server in a subprocess): analysis 4xx answers keep the connection,
log no traceback, and an oversized /simulation body is refused before it is read."""

from __future__ import annotations

import select
import socket

import httpx
import pytest
from transport_helpers import login, start_server

FOUR_XX = [
    ("/simulation/v1/reachability", {"source": {"ip_address": "10.0.0.1"}, "destination": {"ip_address": "10.0.0.2"}}),
    ("/simulation/v1/reachability/matrix", {"protocol": "tcp"}),
    ("/simulation/v1/reachability", {"source": {"port_id": "no-such-port"}, "protocol": "tcp"}),
    ("/simulation/v1/simulations", {"flows": [], "duration_s": 1}),
    ("/simulation/v1/security-groups/test", {"port_id": 7}),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = start_server(tmp_path_factory.mktemp("server"))
    yield running
    running.stop()


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (it says ``connection: close``)."""
    sock.settimeout(10)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _client_addr(response) -> tuple:
    return response.extensions["network_stream"].get_extra_info("client_addr")


def test_analysis_4xx_keeps_the_connection_and_logs_no_traceback(server):
    with httpx.Client(base_url=server.base, timeout=30) as http:
        token = login(http, "demo")
        headers = {"X-Auth-Token": token}
        first = http.get("/networking/v2.0/networks", headers=headers)
        addr = _client_addr(first)
        for i in range(20):
            path, body = FOUR_XX[i % len(FOUR_XX)]
            refused = http.post(path, json=body, headers=headers)
            assert 400 <= refused.status_code < 500, refused.text
            assert set(refused.json()) == {"NeutronError"}
            assert refused.headers.get("connection", "").lower() != "close"
            after = http.get("/networking/v2.0/networks", headers=headers)
            assert after.status_code == 200
            assert _client_addr(refused) == addr and _client_addr(after) == addr
    log = server.log()
    assert "Traceback" not in log, log[-3000:]


def test_simulation_body_announced_over_the_limit_is_413_unread(server):
    with httpx.Client(base_url=server.base, timeout=30) as http:
        token = login(http, "demo")
    with socket.create_connection(("127.0.0.1", int(server.base.rsplit(":", 1)[1]))) as sock:
        sock.sendall(b"POST /simulation/v1/reachability HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"X-Auth-Token: " + token.encode() + b"\r\nContent-Length: 104857600\r\n\r\n")
        head = _read_until_closed(sock)
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    assert b"NeutronError" in head


def test_streamed_100mb_simulation_body_is_refused_after_about_one_mib(server):
    """Chunked upload with no length: the server answers 413 once it has read past 1 MiB; the
    client stops sending as soon as the answer arrives."""
    with httpx.Client(base_url=server.base, timeout=30) as http:
        token = login(http, "demo")
    chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
    sent = 0
    with socket.create_connection(("127.0.0.1", int(server.base.rsplit(":", 1)[1]))) as sock:
        sock.sendall(b"POST /simulation/v1/reachability/matrix HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                     b"X-Auth-Token: " + token.encode() + b"\r\n\r\n")
        try:
            while sent < 100 * 1024 * 1024:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                sock.sendall(chunk)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(10)
        head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    assert sent < 100 * 1024 * 1024
