"""Every ``/simulation/v1`` endpoint over HTTP, on a topology built through the Neutron API.

Covers the analysis API contract (docs/dataplane.md): reachability with trace,
return and exact allowed set; the matrix; what-if (delete → newly blocked, add → newly allowed,
refused change → that error and nothing applied); security-group test and lint; project
isolation; bad input → 400 NeutronError bodies; no token → 401.
"""

from __future__ import annotations

import pytest
from sim_helpers import REACHABLE, neutron_error

RULES = "/v2.0/security-group-rules"


def _hop(answer: dict, stage: str) -> dict:
    return next(h for h in answer["hops"] if h["stage"] == stage)


# --- discovery -------------------------------------------------------------------------------


def test_version_document_needs_no_token(client):
    body = client.get("/simulation/").json()
    assert body["versions"][0]["id"] == "v1"


def test_index_lists_every_question(demo):
    names = {q["name"] for q in demo.ask("", method="GET")["questions"]}
    assert names == {"reachability", "reachability/matrix", "whatif", "security-groups/test",
                     "security-groups/lint", "simulations"}


# --- reachability ---------------------------------------------------------------------------


def test_reachability_across_router_has_trace_and_conntracked_return(demo, topo):
    answer = demo.ask("/reachability", {"source": {"port_id": topo.bastion}, "destination": {"port_id": topo.web2},
                                        "protocol": "tcp", "destination_port": 22})
    assert answer["disposition"] == "ACCEPTED" and answer["reachable"] is True
    assert answer["flow"]["source_ip"] == topo.bastion_ip and answer["flow"]["destination_port"] == 22
    nodes = [h["node"] for h in answer["hops"]]
    assert f"router:{topo.r1}" in nodes and nodes[-1] == f"port:{topo.web2}"
    assert _hop(answer, "ingress-security-group")["rule_id"] == topo.rule_web_ssh
    assert answer["return"]["disposition"] == "ACCEPTED"
    assert any(h.get("conntrack") == "established" for h in answer["return"]["hops"])
    assert "allowed" not in answer


def test_reachability_refused_flow_names_the_stage_and_has_no_return(demo, topo):
    answer = demo.ask("/reachability", {"source": {"port_id": topo.web1}, "destination": {"port_id": topo.web2},
                                        "protocol": "tcp", "destination_port": 22})
    assert answer["disposition"] == "DENIED_INGRESS" and answer["reachable"] is False
    assert answer["hops"][-1]["action"] == "DENY" and answer["return"] is None


def test_reachability_without_protocol_returns_exact_allowed_set(demo, topo):
    answer = demo.ask("/reachability", {"source": {"port_id": topo.web1}, "destination": {"port_id": topo.bastion}})
    assert answer["allowed"] == [{"protocol": "tcp", "port_ranges": [[22, 22]]},
                                 {"protocol": "icmp", "icmp_types": [[0, 255]]}]
    answer = demo.ask("/reachability", {"source": {"port_id": topo.bastion}, "destination": {"port_id": topo.web2}})
    assert answer["allowed"] == [{"protocol": "tcp", "port_ranges": [[22, 22], [80, 80]]}]


def test_reachability_from_internet_through_floating_ip_shows_dnat(demo, topo):
    answer = demo.ask("/reachability", {"source": {"ip_address": "198.51.100.7"},
                                        "destination": {"ip_address": topo.web2_fip},
                                        "protocol": "tcp", "destination_port": 80})
    assert answer["disposition"] == "ACCEPTED"
    assert _hop(answer, "dnat")["translation"] == {"type": "DNAT", "from": topo.web2_fip, "to": topo.web2_ip}
    assert answer["return"]["disposition"] == "EXITS_NETWORK"


# --- matrix ---------------------------------------------------------------------------------


def test_matrix_lists_only_the_callers_visible_ports(demo, admin, topo):
    mine = demo.ask("/reachability/matrix", {"protocol": "tcp", "destination_port": 22})
    assert mine["sources"] == mine["destinations"] == sorted([topo.bastion, topo.web1, topo.web2])
    cell = mine["dispositions"][mine["sources"].index(topo.bastion)][mine["destinations"].index(topo.web1)]
    assert cell == "ACCEPTED"
    everyone = admin.ask("/reachability/matrix", {"protocol": "tcp", "destination_port": 22})
    assert topo.x1 in everyone["sources"] and len(everyone["reachable"]) == 4


def test_matrix_with_named_ends(demo, topo):
    answer = demo.ask("/reachability/matrix", {"protocol": "icmp", "sources": [{"port_id": topo.web1}],
                                               "destinations": [{"port_id": topo.bastion}, {"port_id": topo.web2}]})
    assert answer["reachable"] == [[True, False]]
    assert answer["dispositions"] == [["ACCEPTED", "DENIED_INGRESS"]]


# --- what-if --------------------------------------------------------------------------------


def test_whatif_rule_delete_reports_newly_blocked(demo, topo):
    answer = demo.ask("/whatif", {"changes": [{"method": "DELETE", "path": f"{RULES}/{topo.rule_web_http}"}],
                                  "protocol": "tcp", "destination_port": 80})
    blocked = {(i["source"]["port_id"], i["destination"]["port_id"]) for i in answer["newly_blocked"]}
    assert (topo.bastion, topo.web2) in blocked and (topo.web1, topo.web2) in blocked
    assert all(d in (topo.web1, topo.web2) for _, d in blocked)
    item = answer["newly_blocked"][0]
    assert item["protocol"] == "tcp" and item["port_ranges"] == [[80, 80]]
    assert item["before"] == "ACCEPTED" and item["after"] == "DENIED_INGRESS"
    assert answer["newly_allowed"] == [] and answer["changes_applied"] == 1


def test_whatif_rule_add_reports_newly_allowed_exact_ranges(demo, topo):
    rule = {"security_group_id": topo.sg_web, "direction": "ingress", "protocol": "udp",
            "port_range_min": 5000, "port_range_max": 5100, "remote_ip_prefix": "10.0.0.0/24"}
    answer = demo.ask("/whatif", {"changes": [{"method": "POST", "path": RULES,
                                               "body": {"security_group_rule": rule}}]})
    pairs = {(i["source"]["port_id"], i["destination"]["port_id"]) for i in answer["newly_allowed"]}
    # only sources inside 10.0.0.0/24 (net a) towards members of web
    assert pairs == {(s, d) for s in (topo.bastion, topo.web1) for d in (topo.web1, topo.web2)}
    for item in answer["newly_allowed"]:
        assert item["protocol"] == "udp" and item["port_ranges"] == [[5000, 5100]]
        assert item["before"] == "DENIED_INGRESS" and item["after"] in REACHABLE
    assert answer["newly_blocked"] == []


def test_whatif_rule_change_evaluates_only_affected_pairs(admin, topo):
    answer = admin.ask("/whatif", {"changes": [{"method": "DELETE", "path": f"{RULES}/{topo.rule_web_http}"}],
                                   "protocol": "tcp", "destination_port": 80})
    assert answer["evaluated"]["pairs"] == 4 * 2  # every source, only web's two members
    routing = admin.ask("/whatif", {"changes": [{"method": "PUT", "path": f"/v2.0/routers/{topo.r1}/remove_router_interface",
                                                 "body": {"subnet_id": topo.sub_a}}],
                                    "protocol": "tcp", "destination_port": 80})
    assert routing["evaluated"]["pairs"] == 4 * 4  # routing may change anything
    blocked = {(i["source"]["port_id"], i["destination"]["port_id"]) for i in routing["newly_blocked"]}
    assert (topo.web1, topo.web2) in blocked and (topo.web1, topo.web1) not in blocked


def test_whatif_leaves_live_state_untouched(demo, plane, topo):
    revision = plane.revision
    demo.ask("/whatif", {"changes": [{"method": "DELETE", "path": f"{RULES}/{topo.rule_web_http}"},
                                     {"method": "PUT", "path": f"/v2.0/ports/{topo.web1}",
                                      "body": {"port": {"admin_state_up": False}}}]})
    assert plane.revision == revision
    assert demo.neutron("GET", f"/security-group-rules/{topo.rule_web_http}").status_code == 200
    assert demo.neutron("GET", f"/ports/{topo.web1}").json()["port"]["admin_state_up"] is True


def test_whatif_refused_change_returns_its_error_with_index_and_applies_nothing(demo, plane, topo):
    revision = plane.revision
    duplicate = {"security_group_id": topo.sg_web, "direction": "ingress", "protocol": "tcp",
                 "port_range_min": 80, "port_range_max": 80, "remote_ip_prefix": "0.0.0.0/0"}
    response = demo.sim("POST", "/whatif", {"changes": [
        {"method": "DELETE", "path": f"{RULES}/{topo.rule_web_ssh}"},
        {"method": "POST", "path": RULES, "body": {"security_group_rule": duplicate}}]})
    assert response.status_code == 409
    error = neutron_error(response)
    assert error["type"] == "SecurityGroupRuleExists" and error["message"].startswith("change 1:")
    assert plane.revision == revision
    assert demo.neutron("GET", f"/security-group-rules/{topo.rule_web_ssh}").status_code == 200


def test_whatif_refused_as_the_api_would_refuse_it(demo, topo):
    response = demo.sim("POST", "/whatif", {"changes": [{"method": "PUT", "path": f"/v2.0/routers/{topo.r1}/remove_router_interface",
                                                         "body": {"subnet_id": topo.sub_b}}]})
    live = demo.neutron("PUT", f"/routers/{topo.r1}/remove_router_interface", {"subnet_id": topo.sub_b})
    assert response.status_code == live.status_code == 409
    assert neutron_error(response)["type"] == neutron_error(live)["type"]


def test_whatif_cannot_touch_another_projects_resources(demo, topo):
    response = demo.sim("POST", "/whatif", {"changes": [{"method": "DELETE", "path": f"{RULES}/{topo.alt_rule_ssh}"}]})
    assert response.status_code == 404
    assert neutron_error(response)["message"].startswith("change 0:")


def test_whatif_from_an_external_host_to_a_floating_ip(demo, topo):
    answer = demo.ask("/whatif", {"changes": [{"method": "DELETE", "path": f"{RULES}/{topo.rule_web_http}"}],
                                  "sources": [{"ip_address": "198.51.100.7"}],
                                  "destinations": [{"ip_address": topo.web2_fip}]})
    assert [(i["source"], i["destination"], i["protocol"], i["port_ranges"]) for i in answer["newly_blocked"]] == [
        ({"ip_address": "198.51.100.7"}, {"ip_address": topo.web2_fip}, "tcp", [[80, 80]])]


def test_whatif_answers_only_about_visible_ports(demo, topo):
    answer = demo.ask("/whatif", {"changes": [{"method": "PUT", "path": f"/v2.0/routers/{topo.r1}",
                                               "body": {"router": {"admin_state_up": False}}}]})
    named = {i[k]["port_id"] for key in ("newly_allowed", "newly_blocked") for i in answer[key]
             for k in ("source", "destination")}
    assert named and topo.x1 not in named


# --- security groups ------------------------------------------------------------------------


def test_security_group_test_lists_matching_rules(demo, topo):
    answer = demo.ask("/security-groups/test", {"port_id": topo.web2, "direction": "ingress", "protocol": "tcp",
                                                "destination_port": 22, "remote_ip_address": topo.bastion_ip})
    assert answer["verdict"] == "PERMIT"
    assert [r["rule_id"] for r in answer["matching_rules"]] == [topo.rule_web_ssh]
    denied = demo.ask("/security-groups/test", {"port_id": topo.web2, "direction": "ingress", "protocol": "tcp",
                                                "destination_port": 23, "remote_ip_address": topo.bastion_ip})
    assert denied["verdict"] == "DENY" and denied["matching_rules"] == []


def test_lint_reports_own_findings_only(demo, alt, topo):
    answer = demo.ask("/security-groups/lint", method="GET")
    kinds = {(f["kind"], f["rule_id"]) for f in answer["findings"]}
    assert ("over_broad", topo.rule_bastion_ssh) in kinds
    assert ("empty_remote_group", topo.rule_web_ops) in kinds
    assert all(f["rule_id"] != topo.alt_rule_ssh for f in answer["findings"])
    theirs = alt.ask("/security-groups/lint", method="GET")
    assert ("over_broad", topo.alt_rule_ssh) in {(f["kind"], f["rule_id"]) for f in theirs["findings"]}


def test_lint_of_another_project_is_admin_only(demo, admin, alt, topo):
    project = alt.neutron("GET", f"/ports/{topo.x1}").json()["port"]["project_id"]
    assert demo.sim("GET", f"/security-groups/lint?project_id={project}").status_code == 403
    answer = admin.ask(f"/security-groups/lint?project_id={project}", method="GET")
    assert {f["rule_id"] for f in answer["findings"]} >= {topo.alt_rule_ssh}


# --- isolation ------------------------------------------------------------------------------


@pytest.mark.parametrize("path, body", [
    ("/reachability", lambda t: {"source": {"port_id": t.web1}, "destination": {"port_id": t.x1}, "protocol": "icmp"}),
    ("/reachability", lambda t: {"source": {"port_id": t.x1}, "destination": {"port_id": t.web1}, "protocol": "icmp"}),
    ("/reachability/matrix", lambda t: {"protocol": "icmp", "sources": [{"port_id": t.x1}]}),
    ("/whatif", lambda t: {"changes": [{"method": "DELETE", "path": f"{RULES}/{t.rule_web_http}"}],
                           "destinations": [{"port_id": t.x1}]}),
    ("/security-groups/test", lambda t: {"port_id": t.x1, "direction": "ingress", "protocol": "icmp",
                                         "remote_ip_address": "10.0.0.1"}),
])
def test_another_projects_port_is_not_found(demo, topo, path, body):
    response = demo.sim("POST", path, body(topo))
    assert response.status_code == 404
    assert neutron_error(response)["type"] in ("PortNotFound", "QueryError")


def test_traces_hide_other_projects_ids(demo, admin, topo):
    query = {"source": {"port_id": topo.web1}, "destination": {"ip_address": topo.x1_fip},
             "protocol": "tcp", "destination_port": 22}
    mine = demo.ask("/reachability", query)
    assert mine["disposition"] == "ACCEPTED"
    nodes = [h["node"] for h in mine["hops"]]
    assert f"router:{topo.r1}" in nodes and "router:hidden" in nodes and "port:hidden" in nodes
    assert _hop(mine, "ingress-security-group")["rule_id"] == "hidden"
    text = str(mine)
    assert topo.x1 not in text and topo.r2 not in text and topo.alt_rule_ssh not in text
    full = admin.ask("/reachability", query)
    assert f"port:{topo.x1}" in [h["node"] for h in full["hops"]]


# --- bad input and authentication ------------------------------------------------------------

BAD = [
    ("/reachability", None), ("/reachability", []), ("/reachability", "text"), ("/reachability", {}),
    ("/reachability", {"source": 1, "destination": 2}),
    ("/reachability", {"source": {"port_id": "P1"}, "destination": {"port_id": "P2"}, "protocol": "bogus"}),
    ("/reachability", {"source": {"port_id": "P1"}, "destination": {"port_id": "P2"}, "protocol": "tcp",
                       "destination_port": 70000}),
    ("/reachability", {"source": {"ip_address": "not-an-ip"}, "destination": {"port_id": "P2"}}),
    ("/reachability", {"source": {"ip_address": "198.51.100.7"}, "destination": {"ip_address": "198.51.100.8"}}),
    ("/reachability/matrix", {}), ("/reachability/matrix", {"protocol": "tcp"}),
    ("/reachability/matrix", {"protocol": "tcp", "destination_port": "22"}),
    ("/reachability/matrix", {"protocol": "icmp", "sources": "all"}),
    ("/reachability/matrix", {"protocol": "icmp", "destinations": [None]}),
    ("/reachability/matrix", {"protocol": "icmp", "ethertype": "IPv5"}),
    ("/whatif", {}), ("/whatif", {"changes": []}), ("/whatif", {"changes": "DELETE"}),
    ("/whatif", {"changes": [1]}), ("/whatif", {"changes": [{"method": "GET", "path": "/v2.0/ports"}]}),
    ("/whatif", {"changes": [{"method": "DELETE", "path": "/ports/x"}]}),
    ("/whatif", {"changes": [{"method": "DELETE", "path": "/v2.0/ports/x", "extra": 1}]}),
    ("/whatif", {"changes": [{"method": "POST", "path": RULES, "body": {"security_group_rule": {"protocol": 5}}}]}),
    ("/whatif", {"changes": [{"method": "DELETE", "path": f"{RULES}/R"}], "protocol": "bogus"}),
    ("/whatif", {"changes": [{"method": "DELETE", "path": f"{RULES}/R"}], "destination_port": -1}),
    ("/whatif", {"changes": [{"method": "DELETE", "path": f"{RULES}/R"}], "unknown": True}),
    ("/whatif", {"changes": [{"method": "DELETE", "path": f"{RULES}/R"}], "sources": {"port_id": "P1"}}),
    ("/security-groups/test", {}), ("/security-groups/test", {"port_id": 5}),
    ("/security-groups/test", {"port_id": "P1", "direction": "sideways", "protocol": "tcp"}),
    ("/security-groups/test", {"port_id": "P1", "direction": "ingress", "protocol": "tcp",
                               "destination_port": 22, "remote_ip_address": "nope"}),
]


@pytest.mark.parametrize("path, body", BAD)
def test_bad_input_is_a_4xx_neutron_error_never_500(demo, topo, path, body):
    if isinstance(body, dict):  # name real ends where the body names placeholders
        text = str(body).replace("'P1'", repr(topo.web1)).replace("'P2'", repr(topo.web2))
        text = text.replace(f"{RULES}/R'", f"{RULES}/{topo.rule_web_http}'")
        body = eval(text)  # noqa: S307 - our own literal
    response = demo.sim("POST", path, body)
    assert 400 <= response.status_code < 500, response.text
    assert response.status_code != 401
    neutron_error(response)


@pytest.mark.parametrize("method, path", [("GET", ""), ("POST", "/reachability"), ("POST", "/reachability/matrix"),
                                          ("POST", "/whatif"), ("POST", "/security-groups/test"),
                                          ("GET", "/security-groups/lint")])
@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_every_question_needs_a_valid_token(client, method, path, token):
    headers = {"X-Auth-Token": token} if token else {}
    response = client.request(method, "/simulation/v1" + path, json={"protocol": "icmp"}, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 401
