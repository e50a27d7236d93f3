"""QoS what-if as a question: ``Session.qos_whatif`` in-process and ``POST /simulations`` with
``changes`` as a job — the same traffic before and after Neutron API changes, per flow."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from sim_helpers import neutron_error

from xloudnet.analysis import QosWhatIfAnswer, Session
from xloudnet.control import errors
from xloudnet.control.changes import ChangeRejected
from xloudnet.control.context import Context

LIMIT_KBPS = 2000
FRAMED = 1500 / 1514  # the policer counts the Ethernet header


@pytest.fixture
def cloud(admin, demo):
    """demo's network with ports a, b (default group: they talk) and c; admin's shared policy
    ``slow`` limits a's egress to 2 Mbit/s, shared policy ``fast`` (20 Mbit/s) is unused. (QoS
    policies and rules are admin's to write, as in Neutron; ports are their owner's.)"""
    net = demo.create("networks", "network", {"name": "n"})
    demo.create("subnets", "subnet", {"network_id": net["id"], "cidr": "10.7.0.0/24", "ip_version": 4})
    slow = admin.create("qos/policies", "policy", {"name": "slow", "shared": True})
    rule = admin.create(f"qos/policies/{slow['id']}/bandwidth_limit_rules", "bandwidth_limit_rule",
                        {"max_kbps": LIMIT_KBPS, "max_burst_kbps": 100, "direction": "egress"})
    fast = admin.create("qos/policies", "policy", {"name": "fast", "shared": True})
    admin.create(f"qos/policies/{fast['id']}/bandwidth_limit_rules", "bandwidth_limit_rule",
                 {"max_kbps": 20_000, "max_burst_kbps": 100, "direction": "egress"})
    ports = {name: demo.create("ports", "port", {"network_id": net["id"], "name": name, "device_owner": "compute:nova",
                                                 **({"qos_policy_id": slow["id"]} if name == "a" else {})})
             for name in ("a", "b", "c")}
    return {"slow": slow["id"], "fast": fast["id"], "rule": rule["id"], "project": net["project_id"],
            **{k: v["id"] for k, v in ports.items()}}


def _flows(cloud, rate=8000):
    return [{"source": {"port_id": cloud["a"]}, "destination": {"port_id": cloud["b"]}, "protocol": "udp",
             "destination_port": 5001, "rate_kbps": rate, "name": "a-to-b"},
            {"source": {"port_id": cloud["c"]}, "destination": {"port_id": cloud["b"]}, "protocol": "udp",
             "destination_port": 5002, "rate_kbps": 1000, "name": "c-to-b"}]


def _raise(cloud, kbps):
    return {"method": "PUT", "path": f"/v2.0/qos/policies/{cloud['slow']}/bandwidth_limit_rules/{cloud['rule']}",
            "body": {"bandwidth_limit_rule": {"max_kbps": kbps}}}


def _session(plane, cloud):
    """demo, asking in-process."""
    return Session(plane).as_caller(Context(project_id=cloud["project"], roles=frozenset({"member", "reader"})))


def test_raising_a_policy_in_python_shows_each_flows_throughput_before_and_after(plane, cloud):
    answer = Session(plane).qos_whatif(flows=_flows(cloud), duration_s=1.0, seed=2,
                                               changes=[_raise(cloud, 20_000)])
    assert isinstance(answer, QosWhatIfAnswer) and answer.changes_applied == 1
    a, c = answer.flows
    assert a.name == "a-to-b" and a.before.delivered_kbps == pytest.approx(LIMIT_KBPS * FRAMED, rel=0.05)
    assert a.before.loss_ratio > 0.5 and a.after.loss_ratio == 0
    assert a.after.delivered_kbps == pytest.approx(8000, rel=0.02)
    assert a.delivered_kbps_change == pytest.approx(a.after.delivered_kbps - a.before.delivered_kbps)
    assert c.before.delivered_kbps == c.after.delivered_kbps == pytest.approx(1000, rel=0.02)
    assert answer.before.flows[0].delivered["kbps"] == a.before.delivered_kbps  # both full results kept
    # the live plane is untouched: the rule still limits to 2 Mbit/s
    assert plane.store.get("qos_rules", cloud["rule"])["max_kbps"] == LIMIT_KBPS


def test_moving_a_port_to_another_policy_changes_only_its_flows(plane, cloud):
    move = {"method": "PUT", "path": f"/v2.0/ports/{cloud['a']}", "body": {"port": {"qos_policy_id": cloud["fast"]}}}
    answer = _session(plane, cloud).qos_whatif(flows=_flows(cloud, rate=30_000), duration_s=1.0, changes=[move])
    a, c = answer.flows
    assert a.after.delivered_kbps == pytest.approx(20_000 * FRAMED, rel=0.05)
    assert a.after.delivered_kbps > 5 * a.before.delivered_kbps
    assert (c.before.delivered_kbps, c.before.loss_ratio) == (c.after.delivered_kbps, c.after.loss_ratio)
    console = Console(width=200, record=True)
    console.print(answer.table())
    shown = console.export_text()
    assert "QoS what-if (1 change(s))" in shown and "a-to-b" in shown and "ACCEPTED → ACCEPTED" in shown


def test_a_change_the_api_refuses_is_that_error_and_nothing_runs(plane, cloud):
    session = Session(plane)
    with pytest.raises(ChangeRejected) as refused:
        session.qos_whatif(flows=_flows(cloud), duration_s=1.0, changes=[_raise(cloud, "fast")])
    assert refused.value.index == 0 and refused.value.error.status == 400
    other = {"method": "PUT", "path": "/v2.0/qos/policies/no-such-policy/bandwidth_limit_rules/x",
             "body": {"bandwidth_limit_rule": {"max_kbps": 1}}}
    with pytest.raises(ChangeRejected) as missing:
        session.qos_whatif(flows=_flows(cloud), duration_s=1.0, changes=[_raise(cloud, 5000), other])
    assert missing.value.index == 1 and missing.value.error.status == 404
    assert plane.store.get("qos_rules", cloud["rule"])["max_kbps"] == LIMIT_KBPS


def test_a_flow_whose_port_a_change_deletes_is_refused_naming_the_after_state(plane, cloud):
    delete = {"method": "DELETE", "path": f"/v2.0/ports/{cloud['c']}"}
    with pytest.raises(errors.NeutronException) as refused:
        _session(plane, cloud).qos_whatif(flows=_flows(cloud), duration_s=1.0, changes=[delete])
    assert refused.value.status == 404 and "after the changes: flows[1]" in str(refused.value)


def test_a_plain_simulation_refuses_changes_in_python(plane, cloud):
    with pytest.raises(errors.HTTPBadRequest):
        _session(plane, cloud).simulate(flows=_flows(cloud), duration_s=1.0, changes=[_raise(cloud, 5000)])


# --- over HTTP: a job ------------------------------------------------------------------------------

def _wait(caller, job_id):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        view = caller.ask(f"/simulations/{job_id}", method="GET")["simulation"]
        if view["status"] not in ("BUILD", "RUNNING"):
            return view
        time.sleep(0.02)
    raise AssertionError("the job did not finish")


def test_a_simulation_job_with_changes_returns_every_flow_before_and_after(admin, cloud):
    started = admin.sim("POST", "/simulations", {"flows": _flows(cloud), "duration_s": 1.0, "seed": 2,
                                                "changes": [_raise(cloud, 20_000)]})
    assert started.status_code == 202, started.text
    assert started.json()["simulation"]["changes"] == 1
    view = _wait(admin, started.json()["simulation"]["id"])
    assert view["status"] == "ACTIVE", view
    result = view["result"]
    assert result["changes_applied"] == 1 and {"before", "after", "flows"} <= set(result)
    a = result["flows"][0]
    assert a["before"]["delivered_kbps"] == pytest.approx(LIMIT_KBPS * FRAMED, rel=0.05)
    assert a["after"]["delivered_kbps"] == pytest.approx(8000, rel=0.02) and a["after"]["loss_ratio"] == 0
    assert result["before"]["flows"][0]["series"] and result["after"]["seed"] == 2
    rule = admin.neutron("GET", f"/qos/policies/{cloud['slow']}/bandwidth_limit_rules/{cloud['rule']}")
    assert rule.json()["bandwidth_limit_rule"]["max_kbps"] == LIMIT_KBPS


@pytest.mark.parametrize("change, status, kind", [
    ({"method": "PUT", "path": "RULE", "body": {"bandwidth_limit_rule": {"max_kbps": "fast"}}}, 400, "HTTPBadRequest"),
    ({"method": "DELETE", "path": "/v2.0/qos/policies/no-such-policy"}, 404, "QosPolicyNotFound"),
])
def test_a_refused_change_is_neutrons_error_and_starts_no_job(admin, cloud, change, status, kind):
    rule_path = f"/v2.0/qos/policies/{cloud['slow']}/bandwidth_limit_rules/{cloud['rule']}"
    change = {**change, "path": rule_path if change["path"] == "RULE" else change["path"]}
    response = admin.sim("POST", "/simulations", {"flows": _flows(cloud), "duration_s": 1.0, "changes": [change]})
    assert response.status_code == status, response.text
    error = neutron_error(response)
    assert error["type"] == kind and error["message"].startswith("change 0:")
    assert admin.ask("/simulations", method="GET")["simulations"] == []


def test_a_member_may_move_its_port_but_not_raise_a_policy_as_in_neutron(demo, cloud):
    move = {"method": "PUT", "path": f"/v2.0/ports/{cloud['a']}", "body": {"port": {"qos_policy_id": cloud["fast"]}}}
    started = demo.sim("POST", "/simulations", {"flows": _flows(cloud), "duration_s": 0.5, "changes": [move]})
    assert started.status_code == 202, started.text
    assert _wait(demo, started.json()["simulation"]["id"])["status"] == "ACTIVE"
    refused = demo.sim("POST", "/simulations", {"flows": _flows(cloud), "duration_s": 0.5,
                                                "changes": [_raise(cloud, 20_000)]})
    assert refused.status_code == 403 and neutron_error(refused)["type"] == "PolicyNotAuthorized"


def test_another_project_cannot_whatif_demos_ports(alt, cloud):
    move = {"method": "PUT", "path": f"/v2.0/ports/{cloud['a']}", "body": {"port": {"qos_policy_id": None}}}
    response = alt.sim("POST", "/simulations", {"flows": _flows(cloud), "duration_s": 0.5, "changes": [move]})
    assert response.status_code == 404 and neutron_error(response)["type"] == "PortNotFound"


# --- invariant: a change that touches no QoS changes nothing ----------------------------------------

@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rates=st.lists(st.integers(100, 20_000), min_size=2, max_size=2), seed=st.integers(0, 2**32),
       pattern=st.sampled_from(["cbr", "poisson", "onoff"]))
def test_a_change_that_touches_no_qos_leaves_every_flow_exactly_as_it_was(plane, cloud, rates, seed, pattern):
    rename = {"method": "PUT", "path": f"/v2.0/ports/{cloud['b']}", "body": {"port": {"name": "renamed"}}}
    flows = [dict(f, rate_kbps=rate, pattern=pattern) for f, rate in zip(_flows(cloud), rates)]
    answer = _session(plane, cloud).qos_whatif(flows=flows, duration_s=0.3, seed=seed, changes=[rename])
    for row in answer.flows:
        assert row.before == row.after and row.delivered_kbps_change == 0
    assert plane.store.get("ports", cloud["b"])["name"] == "b"


def test_a_qos_whatif_job_is_a_job_like_any_other_it_can_be_deleted(admin, demo, cloud):
    body = {"flows": _flows(cloud), "duration_s": 30.0, "engine": "reference", "changes": [_raise(cloud, 20_000)]}
    started = admin.sim("POST", "/simulations", body)
    assert started.status_code == 202, started.text
    job = started.json()["simulation"]
    assert demo.sim("GET", f"/simulations/{job['id']}").status_code == 404  # another project's job
    assert job["id"] in [j["id"] for j in admin.ask("/simulations", method="GET")["simulations"]]
    assert admin.sim("DELETE", f"/simulations/{job['id']}").status_code == 204
    assert admin.sim("GET", f"/simulations/{job['id']}").status_code == 404
