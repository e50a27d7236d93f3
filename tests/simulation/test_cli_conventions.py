"""CLI conventions over a real server: names and id prefixes wherever an id goes, names in the
output, exit codes for CI, one-line errors, the matrix legend, what ``reach`` and ``whatif``
say about the question they answered."""

from __future__ import annotations

import json
import re

import httpx
from cli_fixtures import run, server, topo  # noqa: F401  (fixtures)
from sim_helpers import Caller, login, password_auth

from xloudnet.cli import main

RULES = "/v2.0/security-group-rules"


def test_reach_accepts_port_names_and_exits_0_when_reachable(run, topo):
    code, out, err = run("reach", "bastion", "web2", "-p", "tcp", "--port", "22")
    assert code == 0, err
    assert "ACCEPTED" in out and f"port:{topo.web2} (web2)" in out


def test_reach_exits_1_when_not_reachable(run, topo):
    code, out, _ = run("reach", "web1", "bastion", "-p", "tcp", "--port", "80")
    assert code == 1 and "DENIED_INGRESS" in out


def test_reach_accepts_the_short_ids_the_matrix_prints(run, topo):
    code, out, _ = run("matrix", "-p", "tcp", "--port", "22", "--source", "bastion")
    shown = re.search(r"bastion \(([0-9a-f]{8})\)", out).group(1)
    assert shown == topo.bastion[:8]
    code, out, err = run("reach", shown, topo.web2[:8], "-p", "tcp", "--port", "22", "--json")
    assert code == 0, err
    assert json.loads(out)["delivered_to"] == f"port:{topo.web2}"


def test_unknown_name_is_a_one_line_usage_error(run, topo):
    code, out, err = run("reach", "no-such-vm", "web2", "-p", "tcp", "--port", "22")
    assert code == 2 and out == ""
    assert err.strip() == "xloudnet: no port named 'no-such-vm' or with an id starting with it"


def test_ambiguous_name_lists_the_candidates(run, server, topo):
    with httpx.Client(base_url=server[0], timeout=30) as http:
        demo = Caller(http, login(http, "demo"))
        twins = [demo.create("ports", "port", {"name": "twin", "network_id": topo.net_a})["id"] for _ in range(2)]
        try:
            code, out, err = run("sgtest", "twin", "-p", "tcp", "--port", "22")
        finally:
            for pid in twins:
                demo.neutron("DELETE", f"/ports/{pid}")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "2 ports are named 'twin'" in err and all(pid in err for pid in twins)


def test_reach_without_protocol_says_all_protocols(run, topo):
    code, out, _ = run("reach", "web1", "bastion")
    first = out.splitlines()[0]
    assert "all protocols" in first and "port 0" not in first and "tcp port" not in first


def test_reach_with_icmp_names_type_and_code(run, topo):
    code, out, _ = run("reach", "web1", "bastion", "-p", "icmp")
    assert code == 0 and "icmp type 8 code 0" in out.splitlines()[0]


def test_matrix_marks_leaving_the_cloud_apart_from_accepted(run, topo):
    code, out, _ = run("matrix", "-p", "tcp", "--port", "80", "--source", "web1",
                       "--destination", "198.51.100.7", "--destination", "web2")
    assert code == 0
    assert "↗ = EXITS_NETWORK (left the cloud)" in out and "✓ = ACCEPTED" in out
    row = next(line for line in out.splitlines() if "web1 (" in line)
    assert "↗" in row and "✓" in row


def test_matrix_prints_names_next_to_ids(run, topo):
    code, out, _ = run("matrix", "-p", "tcp", "--port", "22")
    assert f"bastion ({topo.bastion[:8]})" in out and f"web1 ({topo.web1[:8]})" in out
    assert topo.bastion not in out  # no bare UUIDs


def test_whatif_accepts_a_rule_id_prefix_and_echoes_the_change(run, topo):
    code, out, err = run("whatif", "--change", f"DELETE {RULES}/{topo.rule_web_ssh[:8]}", "-p", "tcp",
                         "--port", "22")
    assert code == 0, err
    assert (f"change 1: delete rule {topo.rule_web_ssh[:8]}: ingress IPv4 tcp 22 from group "
            f"bastion ({topo.sg_bastion[:8]}), group web ({topo.sg_web[:8]})") in out
    assert "newly blocked (2)" in out and f"bastion ({topo.bastion[:8]})" in out


def test_whatif_names_a_missing_id_instead_of_evaluating_nothing(run, topo):
    missing = "00000000-0000-4000-8000-000000000000"
    code, out, err = run("whatif", "--change", f"DELETE {RULES}/{missing}", "-p", "tcp", "--port", "22")
    assert code == 2 and out == ""
    assert err.strip() == f"xloudnet: no security-group rule with id {missing} (or not visible to you)"


def test_whatif_resolves_group_names_in_the_body(run, topo):
    rule = {"security_group_rule": {"security_group_id": "web", "direction": "ingress", "protocol": "udp",
                                    "port_range_min": 53, "port_range_max": 53, "remote_group_id": "bastion"}}
    code, out, err = run("whatif", "--change", f"POST {RULES} {json.dumps(rule)}", "-p", "udp", "--port", "53")
    assert code == 0, err
    assert "add rule: ingress IPv4 udp 53 from group bastion" in out and "newly allowed (2)" in out


def test_whatif_fail_on_newly_blocked_exits_1(run, topo):
    change = f"DELETE {RULES}/{topo.rule_web_http}"
    assert run("whatif", "--change", change, "-p", "tcp", "--port", "80", "--fail-on", "newly-blocked")[0] == 1
    assert run("whatif", "--change", change, "-p", "tcp", "--port", "80", "--fail-on", "newly-allowed")[0] == 0
    assert run("whatif", "--change", change, "-p", "tcp", "--port", "80", "--fail-on", "any")[0] == 1


def test_lint_fail_on_severity(run, topo):
    code, out, _ = run("lint", "--fail-on", "high", "--json")
    findings = json.loads(out)["findings"]
    assert any(f["severity"] == "high" for f in findings) and code == 1
    assert run("lint")[0] == 0


def test_lint_fail_on_exits_0_when_nothing_is_that_severe(run, server, topo):
    with httpx.Client(base_url=server[0], timeout=30) as http:
        answer = http.post("/identity/v3/auth/tokens", json=password_auth("admin"))
        admin_project = answer.json()["token"]["project"]["id"]
    # admin's own project holds only its default group: nothing high
    code, out, _ = run("lint", "--project-id", admin_project, "--fail-on", "high", "--json", user="admin")
    findings = json.loads(out)["findings"]
    assert code == 0 and not any(f["severity"] == "high" for f in findings)
    severities = {f["severity"] for f in findings}
    if severities & {"medium", "low"}:
        assert run("lint", "--project-id", admin_project, "--fail-on", "low", user="admin")[0] == 1


def test_lint_prints_group_names_not_bare_ids(run, topo):
    code, out, _ = run("lint")
    assert f"bastion ({topo.sg_bastion[:8]})" in out
    assert f"ops-tag ({topo.sg_tag[:8]})" in out  # the empty remote group, named inside the message
    assert topo.sg_tag not in out


def test_bad_json_endpoint_is_one_line(run, topo):
    code, out, err = run("reach", "{not json", "web2")
    assert code == 2 and err.startswith("xloudnet: endpoint") and "Traceback" not in err


def test_usage_error_exits_2(run, topo):
    try:
        run("reach", "web1")
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("argparse accepted a missing destination")


def test_wrong_password_is_exit_2(server, capsys):
    code = main(["reach", "web1", "web2", "--url", server[0], "--user", "demo", "--password", "wrong"])
    err = capsys.readouterr().err
    assert code == 2 and "login refused for user 'demo' in project 'demo'" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_lint_rule_ids_are_short_prefixes_that_whatif_accepts(run, topo):
    code, out, _ = run("lint")
    assert topo.rule_bastion_ssh[:8] in out and topo.rule_bastion_ssh not in out
    code, out, err = run("whatif", "--change", f"DELETE {RULES}/{topo.rule_bastion_ssh[:8]}", "-p", "tcp",
                         "--port", "22")
    assert code == 0, err
    assert f"change 1: delete rule {topo.rule_bastion_ssh[:8]}" in out


def test_matrix_shows_addresses_whole(run, topo):
    code, out, _ = run("matrix", "-p", "tcp", "--port", "80", "--source", "web1", "--destination", "198.51.100.7")
    assert "198.51.100.7" in out
