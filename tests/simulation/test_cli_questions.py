"""``xloudnet reach | matrix | whatif | lint | sgtest`` against a real server.

The server is uvicorn serving ``create_app`` in a background thread on a free loopback port;
the topology is built over HTTP through the Neutron API; the commands run in-process through
``xloudnet.cli.main`` (so they log in through Keystone and find the endpoints in the catalog
exactly as against any other server). Both the rich tables (key strings) and ``--json`` are
checked.
"""

from __future__ import annotations

import json

from cli_fixtures import free_port, run, server, topo  # noqa: F401  (fixtures)
from sim_helpers import PASSWORD

from xloudnet.cli import main

RULES = "/v2.0/security-group-rules"


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
    assert f"web2 ({topo.web2[:8]})" in out and "live state untouched" in out
    assert f"change 1: delete rule {topo.rule_web_http[:8]}: ingress IPv4 tcp 80 from 0.0.0.0/0, group web" in out
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
    code = main(["lint", "--url", f"http://127.0.0.1:{free_port()}", "--password", PASSWORD])
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach" in err and "Traceback" not in err
