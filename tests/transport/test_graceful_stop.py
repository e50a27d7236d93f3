"""``xloudnet serve`` stops gracefully on SIGTERM (the real server, in a subprocess)."""

from __future__ import annotations

import json
import signal
import socket
import time

import httpx
import pytest
from transport_helpers import job_body, login, make_ports, start_server, wait_for

SIM = "/simulation/v1"
IDLE_EXIT_BUDGET_S = 2.0


def _read_response(sock: socket.socket) -> bytes:
    sock.settimeout(20)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def test_idle_server_exits_0_promptly_on_sigterm(tmp_path):
    server = start_server(tmp_path)
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    code = server.proc.wait(timeout=30)
    elapsed = time.monotonic() - started
    assert code == 0, server.log()
    assert elapsed < IDLE_EXIT_BUDGET_S, elapsed


def test_sigterm_finishes_16_in_flight_requests_and_cancels_jobs(tmp_path):
    """16 requests whose bodies are half sent when SIGTERM arrives (8 port creates, 8 matrix
    questions) all get their answer; a running simulation job ends CANCELLED; new connections
    are refused; the server exits 0 within the grace period."""
    server = start_server(tmp_path, "shutdown_grace_seconds: 10\nanalysis_queue_per_project: 16\n")
    port = int(server.base.rsplit(":", 1)[1])
    try:
        with httpx.Client(base_url=server.base, timeout=30) as http:
            demo, alt = login(http, "demo"), login(http, "alt_demo")
            a1, a2 = make_ports(http, demo, 2)
            net = http.get("/networking/v2.0/networks", headers={"X-Auth-Token": alt}).json()
            assert net["networks"] == []
            alt_net = http.post("/networking/v2.0/networks", json={"network": {"name": "x"}},
                                headers={"X-Auth-Token": alt}).json()["network"]["id"]
            job = http.post(f"{SIM}/simulations", json=job_body(a1, a2, rate_kbps=40_000, duration_s=120),
                            headers={"X-Auth-Token": demo}).json()["simulation"]["id"]
            wait_for(lambda: http.get(f"{SIM}/simulations/{job}", headers={"X-Auth-Token": demo})
                     .json()["simulation"]["status"] == "RUNNING")
        requests = []
        for i in range(16):
            if i % 2:
                path, token = "/networking/v2.0/ports", alt
                body = json.dumps({"port": {"network_id": alt_net, "name": f"p{i}"}}).encode()
            else:
                path, token = f"{SIM}/reachability/matrix", demo
                body = json.dumps({"protocol": "icmp"}).encode()
            head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    f"X-Auth-Token: {token}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
            requests.append((socket.create_connection(("127.0.0.1", port)), head, body))
        for sock, head, body in requests:
            sock.sendall(head + body[: len(body) // 2])
        time.sleep(0.3)  # every request is accepted and its head parsed
        stopped = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        for sock, head, body in requests:
            sock.sendall(body[len(body) // 2:])
        answers = [_read_response(sock) for sock, _, _ in requests]
        for sock, _, _ in requests:
            sock.close()
        statuses = [a.split(b" ", 2)[1] for a in answers]
        assert statuses == [b"200", b"201"] * 8, answers
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{server.base}/networking", timeout=2)
        code = server.proc.wait(timeout=20)
        assert code == 0, server.log()
        assert time.monotonic() - stopped < 10 + 2
        assert "1 simulation job(s) cancelled" in server.log()
    finally:
        server.stop()
