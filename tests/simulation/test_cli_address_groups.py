"""``xloudnet whatif | sgtest | lint`` with address groups, against a real server (names resolve,
changes are described in words, the rule that decides is named)."""

from __future__ import annotations

import json

import pytest
from cli_fixtures import free_port, run, server, topo  # noqa: F401  (fixtures)
from sim_helpers import Caller, login


@pytest.fixture(scope="module")
def ops(server):
    """demo's address group ``ops`` (bastion's address), named by web's ingress tcp/5432 rule,
    and ``nobody`` (empty), named by web's ingress tcp/6379 rule."""
    import httpx

    base, topo = server
    with httpx.Client(base_url=base, timeout=30) as http:
        demo = Caller(http, login(http, "demo"))
        ag = demo.create("address-groups", "address_group", {"name": "ops", "addresses": [f"{topo.bastion_ip}/32"]})
        empty = demo.create("address-groups", "address_group", {"name": "nobody"})
        rules = [demo.create("security-group-rules", "security_group_rule", {
            "security_group_id": topo.sg_web, "direction": "ingress", "protocol": "tcp", "port_range_min": port,
            "port_range_max": port, "remote_address_group_id": group["id"]}) for port, group in ((5432, ag), (6379, empty))]
    return {"id": ag["id"], "rule": rules[0]["id"], "empty_rule": rules[1]["id"]}


def test_whatif_add_addresses_by_group_name(run, topo, ops):
    change = f'PUT /v2.0/address-groups/ops/add_addresses {{"addresses": ["{topo.web1_ip}/32"]}}'
    code, out, _ = run("whatif", "--change", change, "-p", "tcp", "--port", "5432")
    assert code == 0, out
    assert f"change 1: add {topo.web1_ip}/32 to address group ops ({ops['id'][:8]})" in out
    assert "newly allowed (2)" in out and "newly blocked (0)" in out  # web1 → web1 and web1 → web2
    code, out, _ = run("whatif", "--change", change, "--json")
    answer = json.loads(out)
    assert sorted((i["source"]["port_id"], i["destination"]["port_id"], str(i["port_ranges"]))
                  for i in answer["newly_allowed"]) == sorted((topo.web1, d, "[[5432, 5432]]") for d in (topo.web1, topo.web2))


def test_whatif_removing_a_missing_address_exits_2_with_the_api_error(run, topo, ops):
    code, _, err = run("whatif", "--change", 'PUT /v2.0/address-groups/ops/remove_addresses {"addresses": ["192.0.2.1/32"]}')
    assert code == 2 and "HTTP 404" in err and "192.0.2.1/32'] not found in the address group" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_sgtest_names_the_address_group_rule(run, topo, ops):
    code, out, _ = run("sgtest", topo.web2, "--direction", "ingress", "-p", "tcp", "--port", "5432",
                       "--remote", topo.bastion_ip)
    assert code == 0 and "PERMIT" in out and ops["rule"] in out and "address group ops" in out


def test_reach_trace_names_the_address_group_rule(run, topo, ops):
    code, out, _ = run("reach", topo.bastion, topo.web2, "-p", "tcp", "--port", "5432", "--json")
    answer = json.loads(out)
    assert code == 0 and answer["disposition"] == "ACCEPTED"
    assert ops["rule"] in {h.get("rule_id") for h in answer["hops"]}


def test_lint_reports_the_rule_naming_an_empty_group(run, topo, ops):
    code, out, _ = run("lint", "--json")
    found = {f["rule_id"]: f for f in json.loads(out)["findings"] if f["kind"] == "empty_address_group"}
    assert code == 0 and set(found) == {ops["empty_rule"]}
