"""No ``/simulation`` answer names what the caller cannot see, and every call needs a project.

The property: over generated two-project clouds (shared and external networks, QoS policies of
one project applying to another's traffic, a security group of one project shared with the other
by RBAC), no answer body of any question — traces with their
return paths, allowed sets, the matrix, what-if, lint, security-group tests, simulation jobs and
their results, QoS what-if jobs and their before/after results — contains the id of a record the caller cannot see through the networking API.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from leak_helpers import all_ids, build_cloud, leaks, plans, share_group, sweep, visible_ids
from sim_helpers import PASSWORD, Caller, login, neutron_error

from xloudnet.api.app import create_app
from xloudnet.control.plane import ControlPlane
from xloudnet.settings import Settings

RULES = "/v2.0/security-group-rules"


def _unscoped(http) -> str:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "demo", "domain": {"name": "Default"}, "password": PASSWORD}}}, "scope": "unscoped"}}
    response = http.request("POST", "/identity/v3/auth/tokens", json=body)
    assert response.status_code == 201 and "project" not in response.json()["token"]
    return response.headers["x-subject-token"]


def _store_ids(plane: ControlPlane) -> set[str]:
    return {rid for table in ("networks", "subnets", "ports", "routers", "floatingips", "security_groups",
                              "security_group_rules", "qos_policies", "qos_rules", "subnetpools", "address_scopes",
                              "port_forwardings", "address_groups")
            for rid in plane.store.table(table)}


# No shrinking: a plan is a dozen small choices, readable as drawn, and each example builds a cloud.
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(plan=plans())
def test_no_simulation_answer_names_an_id_the_caller_cannot_see(plan):
    plane = ControlPlane()
    http = TestClient(create_app(plane, Settings(password=PASSWORD)), raise_server_exceptions=False)
    admin, demo, alt = (Caller(http, login(http, user)) for user in ("admin", "demo", "alt_demo"))
    build_cloud(admin, demo, alt, plan)
    everything = _store_ids(plane)
    assert everything == all_ids(admin) | {r for r in everything if plane.store.get("qos_rules", r)}
    for caller in (demo, alt):
        hidden = everything - visible_ids(caller)
        assert leaks(sweep(caller), hidden) == []


# --- a security group shared by RBAC: its rules are the target's to read, nothing else is -------

@pytest.mark.parametrize("how", ["targeted", "wildcard"])
def test_a_group_shared_by_rbac_shows_its_rules_in_the_targets_traces_but_not_the_owners_other_groups(
        admin, demo, alt, how):
    plan = {"admin_shared": False, "admin_qos": None, "alt_shared": False, "alt_shared_qos": None,
            "demo_shares_group": None,
            **{who: {"router": False, "floating_ip": False, "own_ports": 1, "shared_ports": 0,
                     "alt_shared_ports": 0, "remote_group_rule": False, "port_qos": None} for who in ("demo", "alt")}}
    build_cloud(admin, demo, alt, plan)
    alt_project = alt.http.request("GET", "/identity/v3/auth/tokens", headers={
        "X-Auth-Token": alt.token, "X-Subject-Token": alt.token}).json()["token"]["project"]["id"]
    made = share_group(admin, demo, alt, alt_project, how)
    other = alt.neutron("GET", "/ports?name=alt-vm0").json()["ports"][0]
    reach = alt.ask("/reachability", {"source": {"port_id": other["id"]}, "destination": {"port_id": made["port"]},
                                      "protocol": "tcp", "destination_port": 443})
    assert reach["reachable"] is True, reach
    assert made["https_rule"] in [hop.get("rule_id") for hop in reach["hops"]], "the shared group's rule is named"
    # udp from a member of demo's private group: the remote-group rule of the shared group admits it.
    member = demo.neutron("GET", "/ports?name=demo-vm0").json()["ports"][0]["fixed_ips"][0]["ip_address"]
    query = {"port_id": made["port"], "direction": "ingress", "protocol": "udp", "destination_port": 53,
             "remote_ip_address": member}
    full = admin.ask("/security-groups/test", query)["matching_rules"]
    seen = alt.ask("/security-groups/test", query)["matching_rules"]
    assert [r["remote_group_id"] for r in full] == [made["private"]]
    assert [(r["rule_id"], r["security_group_id"]) for r in seen] == [(full[0]["rule_id"], made["group"])]
    assert [r["remote_group_id"] for r in seen] == ["hidden"], "demo's private group stays hidden"
    answers = str([reach, seen, alt.ask("/reachability/matrix", {"protocol": "udp", "destination_port": 53})])
    assert made["private"] not in answers


# --- tokens without a project ------------------------------------------------------------------

QUESTIONS = [("GET", ""), ("POST", "/reachability"), ("POST", "/reachability/matrix"), ("POST", "/whatif"),
             ("POST", "/security-groups/test"), ("GET", "/security-groups/lint"), ("POST", "/simulations"),
             ("GET", "/simulations"), ("GET", "/simulations/some-job"), ("DELETE", "/simulations/some-job")]


@pytest.mark.parametrize("method, path", QUESTIONS)
def test_a_token_without_a_project_is_refused_403_on_every_question(client, topo, method, path):
    token = _unscoped(client)
    body = {"protocol": "icmp"} if method == "POST" else None
    response = client.request(method, "/simulation/v1" + path, json=body, headers={"X-Auth-Token": token})
    assert response.status_code == 403
    assert neutron_error(response)["type"] == "PolicyNotAuthorized"


def test_networking_shows_a_token_without_a_project_nothing_of_the_projects(client, topo):
    token = _unscoped(client)
    ports = client.get("/networking/v2.0/ports", headers={"X-Auth-Token": token}).json()["ports"]
    assert ports == []


# --- QoS of another project in traces and results ------------------------------------------------

@pytest.fixture
def qos_cloud(admin, demo, alt):
    """admin's shared network carries admin's (unshared) policy marking DSCP 46 and limiting
    egress; demo's port ``mine`` sits on it next to alt_demo's port ``theirs``."""
    plan = {"admin_shared": True, "admin_qos": "both", "alt_shared": False, "alt_shared_qos": None,
            "demo_shares_group": None,
            "demo": {"router": True, "floating_ip": True, "own_ports": 1, "shared_ports": 1,
                     "alt_shared_ports": 0, "remote_group_rule": False, "port_qos": None},
            "alt": {"router": True, "floating_ip": True, "own_ports": 1, "shared_ports": 1,
                    "alt_shared_ports": 0, "remote_group_rule": False, "port_qos": "both"}}
    build_cloud(admin, demo, alt, plan)
    shared = [n for n in demo.neutron("GET", "/networks?name=shared").json()["networks"]][0]
    mine = demo.neutron("GET", f"/ports?network_id={shared['id']}").json()["ports"][0]
    demo_net = demo.neutron("GET", "/ports?name=demo-vm0").json()["ports"][0]
    policies = {p["id"] for p in admin.neutron("GET", "/qos/policies").json()["policies"]}
    return {"mine": mine, "demo_vm": demo_net, "policies": policies}


def _qos_hops(answer):
    hops = answer["hops"] + ((answer.get("return") or {}).get("hops") or [])
    return [h["qos"] for h in hops if h["stage"].startswith("qos-")]


def test_another_projects_qos_policy_rules_and_dscp_mark_are_hidden_in_traces(demo, admin, qos_cloud):
    query = {"source": {"port_id": qos_cloud["mine"]["id"]},
             "destination": {"ip_address": qos_cloud["demo_vm"]["fixed_ips"][0]["ip_address"]},
             "protocol": "icmp"}
    full = admin.ask("/reachability", query)
    assert any(q.get("dscp_mark") == 46 for q in _qos_hops(full))
    seen = demo.ask("/reachability", query)
    qos = _qos_hops(seen)
    assert qos and all(q["policy_id"] == "hidden" for q in qos)
    assert all(q.get("dscp_mark") in (None, "hidden") for q in qos)
    assert any(q.get("dscp_mark") == "hidden" for q in qos)
    assert all(q["bandwidth_limit"]["rule_id"] == "hidden" for q in qos if "bandwidth_limit" in q)
    text = str(seen)
    assert not any(pid in text for pid in qos_cloud["policies"])


def test_another_projects_qos_is_hidden_in_simulation_results(demo, qos_cloud):
    flows = [{"source": {"port_id": qos_cloud["mine"]["id"]},
              "destination": {"port_id": qos_cloud["demo_vm"]["id"]}, "protocol": "udp",
              "destination_port": 5001, "rate_kbps": 400, "packet_size": 500}]
    answers = sweep_job(demo, flows)
    result = answers["result"]
    flow = result["flows"][0]
    assert flow["qos"]["egress"]["policy_id"] == "hidden" and flow["qos"]["egress"]["dscp_mark"] == "hidden"
    assert set(flow["dscp_seen"]) == {"hidden"}
    assert not any(pid in str(answers) for pid in qos_cloud["policies"])


def sweep_job(caller, flows):
    import time

    started = caller.sim("POST", "/simulations", {"flows": flows, "duration_s": 0.2, "seed": 2})
    assert started.status_code == 202, started.text
    url = f"/simulations/{started.json()['simulation']['id']}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        view = caller.ask(url, method="GET")["simulation"]
        if view["status"] in ("ACTIVE", "ERROR"):
            assert view["status"] == "ACTIVE", view
            return view
        time.sleep(0.02)
    raise AssertionError("the job did not finish")


# --- jobs are per project ----------------------------------------------------------------------

def test_another_projects_job_cannot_be_read_listed_or_deleted(demo, alt, topo):
    flows = [{"source": {"port_id": topo.web1}, "destination": {"port_id": topo.web2}, "protocol": "icmp",
              "rate_kbps": 100, "packet_size": 500}]
    job = demo.sim("POST", "/simulations", {"flows": flows, "duration_s": 0.2}).json()["simulation"]
    for method in ("GET", "DELETE"):
        assert alt.sim(method, f"/simulations/{job['id']}").status_code == 404
    assert job["id"] not in [j["id"] for j in alt.ask("/simulations", method="GET")["simulations"]]
    assert demo.sim("GET", f"/simulations/{job['id']}").status_code == 200


# --- the same over real HTTP ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_server():
    """uvicorn serving ``create_app`` on a free loopback port (background thread)."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(ControlPlane(), Settings(password=PASSWORD)), host="127.0.0.1",
                            port=port, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


FULL_PLAN = {"admin_shared": True, "admin_qos": "both", "alt_shared": True, "alt_shared_qos": "dscp",
             "demo_shares_group": "targeted",
             **{who: {"router": True, "floating_ip": True, "own_ports": 2, "shared_ports": 1, "alt_shared_ports": 1,
                      "remote_group_rule": True, "port_qos": "both", "port_forwarding": True} for who in ("demo", "alt")}}


def test_over_real_http_no_answer_names_an_id_the_caller_cannot_see(real_server):
    import httpx

    with httpx.Client(base_url=real_server, timeout=30) as http:
        admin, demo, alt = (Caller(http, login(http, user)) for user in ("admin", "demo", "alt_demo"))
        build_cloud(admin, demo, alt, FULL_PLAN)
        everything = all_ids(admin)
        for caller in (demo, alt):
            answers = sweep(caller)
            assert {label for label, _ in answers} >= {"matrix", "reach", "allowed", "sgtest", "inbound", "lint",
                                                        "whatif", "job", "job-result", "jobs", "qos-whatif",
                                                        "qos-whatif-result"}
            assert leaks(answers, everything - visible_ids(caller)) == []
        unscoped = _unscoped(http)
        response = http.get("/simulation/v1/security-groups/lint", headers={"X-Auth-Token": unscoped})
        assert response.status_code == 403 and neutron_error(response)["type"] == "PolicyNotAuthorized"
