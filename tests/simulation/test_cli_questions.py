"""``xloudnet reach | matrix | whatif | lint | sgtest`` against a real server.

The server is uvicorn serving ``create_app`` in a background thread on a free loopback port;
the topology is built over HTTP through the Neutron API; the commands run in-process through
``xloudnet.cli.main`` (so they log in through Keystone and find the endpoints in the catalog
exactly as against any other server). Both the rich tables (key strings) and ``--json`` are
checked.
"""

from __future__ import annotations

import json
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

RULES = "/v2.0/security-group-rules"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """A real uvicorn server on a free port with a topology built through the API."""
    port = _free_port()
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


def test_reach_prints_verdict_trace_and_return(run, topo):
    code, out, _ = run("reach", topo.bastion, topo.web2, "-p", "tcp", "--port", "22")
    assert code == 0
    assert "ACCEPTED" in out and "forward path" in out and "return path" in out
    assert f"router:{topo.r1}" in out and f"rule {topo.rule_web_ssh}" in out and "conntrack established" in out


def test_reach_without_protocol_prints_exact_allowed_set(run, topo):
    code, out, _ = run("reach", topo.web1, topo.bastion)
    assert code == 0 and "allowed (exact)" in out
    assert "tcp" in out and "22" in out and "type 0-255" in out


def test_reach_json_is_the_api_answer(run, topo):
    code, out, _ = run("reach", "198.51.100.7", topo.web2_fip, "-p", "tcp", "--port", "80", "--json")
    answer = json.loads(out)
    assert code == 0 and answer["disposition"] == "ACCEPTED"
    assert any(h["stage"] == "dnat" for h in answer["hops"])


def test_reach_to_another_projects_port_is_a_usage_error_without_traceback(run, topo):
    code, out, err = run("reach", topo.web1, topo.x1, "-p", "icmp")
    assert code == 2 and f"no port with id {topo.x1}" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_matrix_prints_visible_ports_only(run, topo):
    code, out, _ = run("matrix", "-p", "tcp", "--port", "22")
    assert code == 0 and "3 sources × 3 destinations" in out
    code, out, _ = run("matrix", "-p", "tcp", "--port", "22", "--json")
    answer = json.loads(out)
    assert sorted(answer["sources"]) == sorted([topo.bastion, topo.web1, topo.web2])
    code, out, _ = run("matrix", "-p", "tcp", "--port", "22", "--json", user="admin")
    assert topo.x1 in json.loads(out)["sources"]


def test_whatif_rule_delete_prints_newly_blocked(run, topo):
    change = f"DELETE {RULES}/{topo.rule_web_http}"
    code, out, _ = run("whatif", "--change", change, "-p", "tcp", "--port", "80")
    assert code == 0
    assert "newly blocked (" in out and "newly allowed (0)" in out and "DENIED_INGRESS" in out
    assert topo.web2 in out and "live state untouched" in out
    code, out, _ = run("whatif", "--change", change, "--json")
    answer = json.loads(out)
    assert {i["port_ranges"][0][0] for i in answer["newly_blocked"]} == {80}


def test_whatif_rule_add_prints_newly_allowed(run, topo):
    rule = {"security_group_rule": {"security_group_id": topo.sg_web, "direction": "ingress", "protocol": "udp",
                                    "port_range_min": 53, "port_range_max": 53}}
    code, out, _ = run("whatif", "--change", f"POST {RULES} {json.dumps(rule)}",
                       "--source", topo.bastion, "--destination", topo.web2, "--json")
    answer = json.loads(out)
    assert code == 0
    assert [(i["protocol"], i["port_ranges"]) for i in answer["newly_allowed"]] == [("udp", [[53, 53]])]


def test_whatif_refused_change_exits_2_with_the_api_error(run, topo):
    code, out, err = run("whatif", "--change", f"PUT /v2.0/routers/{topo.r1}/remove_router_interface "
                                               f'{{"subnet_id": "{topo.sub_b}"}}')
    assert code == 2 and "HTTP 409" in err and "change 0:" in err


def test_lint_prints_findings_and_summary(run, topo):
    code, out, _ = run("lint")
    assert code == 0 and "over_broad" in out and "empty_remote_group" in out and "summary:" in out
    code, out, _ = run("lint", "--json")
    assert topo.rule_bastion_ssh in {f["rule_id"] for f in json.loads(out)["findings"]}


def test_sgtest_prints_verdict_and_matching_rules(run, topo):
    code, out, _ = run("sgtest", topo.web2, "--direction", "ingress", "-p", "tcp", "--port", "22",
                       "--remote", topo.bastion_ip)
    assert code == 0 and "PERMIT" in out and topo.rule_web_ssh in out
    code, out, _ = run("sgtest", topo.web2, "-p", "tcp", "--port", "23", "--remote", topo.bastion_ip, "--json")
    assert json.loads(out)["verdict"] == "DENY"


def test_unreachable_server_exits_2_without_traceback(capsys):
    code = main(["lint", "--url", f"http://127.0.0.1:{_free_port()}", "--password", PASSWORD])
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach" in err and "Traceback" not in err
