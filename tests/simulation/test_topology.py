"""The topology graph: what ``build_topology`` puts on nodes and edges, reach colouring, what a
project sees through ``GET /simulation/v1/topology``, and ``xloudnet topology`` against a real
server."""

from __future__ import annotations

import json

import httpx
from cli_fixtures import run, server  # noqa: F401  (fixtures)
from cli_fixtures import topo as cli_topo  # noqa: F401
from sim_helpers import Caller, login

from xloudnet.analysis.topology import (EXTERNAL, build_topology, from_json, members, reach_from,
                                        security_group_graph, to_json)
from xloudnet.dataplane import compile_tables


def _graph(plane, tables=False):
    snapshot = plane.snapshot()
    return build_topology(snapshot, compile_tables(snapshot) if tables else None)


def _edges(g, u, v, kind):
    return [d for _u, _v, d in g.edges(u, data=True) if _v == v and d["kind"] == kind]


def test_router_edges_carry_connected_and_default_routes(plane, topo):
    g = _graph(plane)
    r1 = f"router:{topo.r1}"
    connected = _edges(g, r1, f"subnet:{topo.sub_a}", "interface")
    assert connected[0]["route"] == {"destination": "10.0.0.0/24", "nexthop": None, "type": "connected"}
    assert connected[0]["address"] == "10.0.0.1"
    default = _edges(g, r1, f"network:{topo.public}", "gateway")[0]
    assert default["route"] == {"destination": "0.0.0.0/0", "nexthop": "203.0.113.1", "type": "default"}
    assert _edges(g, f"subnet:{topo.sub_b}", r1, "route")[0]["route"]["nexthop"] == "10.0.1.1"
    assert _edges(g, f"network:{topo.public}", EXTERNAL, "upstream")


def test_nodes_carry_kind_name_project_addresses_and_admin_state(plane, topo):
    g = _graph(plane)
    web2 = g.nodes[f"port:{topo.web2}"]
    assert web2["kind"] == "port" and web2["name"] == "web2" and web2["addresses"] == [topo.web2_ip]
    assert web2["admin_state"] is True and web2["project"]
    assert g.nodes[f"subnet:{topo.sub_a}"]["cidr"] == "10.0.0.0/24"
    assert g.nodes[f"network:{topo.public}"]["external"] is True
    fip = next(n for n, d in g.nodes(data=True) if d["kind"] == "floatingip" and d["name"] == topo.web2_fip)
    assert _edges(g, fip, f"port:{topo.web2}", "nat")
    assert _edges(g, f"router:{topo.r1}", fip, "holds")
    # router interfaces are edges, not port nodes
    assert all(not d["device_owner"].startswith("network:") for _n, d in g.nodes(data=True) if d["kind"] == "port")


def test_extra_routes_and_host_routes_become_edges_via_their_next_hop(plane, demo, topo):
    response = demo.neutron("PUT", f"/routers/{topo.r1}", {"router": {"routes": [
        {"destination": "172.16.0.0/16", "nexthop": topo.web1_ip}]}})
    assert response.status_code == 200, response.text
    response = demo.neutron("PUT", f"/subnets/{topo.sub_b}", {"subnet": {"host_routes": [
        {"destination": "192.168.0.0/24", "nexthop": "10.0.1.1"}]}})
    assert response.status_code == 200, response.text
    g = _graph(plane)
    extra = _edges(g, f"router:{topo.r1}", f"subnet:{topo.sub_a}", "route")
    assert extra[0]["route"] == {"destination": "172.16.0.0/16", "nexthop": topo.web1_ip, "type": "extra"}
    host = [d["route"] for d in _edges(g, f"subnet:{topo.sub_b}", f"router:{topo.r1}", "route")]
    assert {"destination": "192.168.0.0/24", "nexthop": "10.0.1.1", "type": "host"} in host


def test_reach_from_colours_what_one_port_reaches(plane, topo):
    g = _graph(plane, tables=True)
    result = reach_from(g, topo.bastion, {"protocol": "tcp", "destination_port": 22})
    assert result[f"port:{topo.web2}"] == "ACCEPTED" and g.nodes[f"port:{topo.web2}"]["reached"]
    assert g.nodes[EXTERNAL]["reach"] == "EXITS_NETWORK" and g.nodes[EXTERNAL]["reached"]
    assert g.nodes[f"port:{topo.bastion}"]["reach"] == "source"
    assert g.nodes[f"router:{topo.r1}"].get("on_path")  # web2 is behind r1
    web1 = reach_from(g, topo.bastion, {"protocol": "tcp", "destination_port": 80})[f"port:{topo.web1}"]
    assert web1 == "ACCEPTED"  # web allows 80 from anywhere


def test_reach_from_does_not_count_an_overlapping_address_as_the_other_port(plane, topo):
    # alt_demo's x1 has bastion's own address on another network: from bastion it is bastion
    g = _graph(plane, tables=True)
    reach_from(g, topo.bastion, {"protocol": "icmp"})
    x1 = g.nodes[f"port:{topo.x1}"]
    assert x1["reached"] is False and x1["delivered_to"] != f"port:{topo.x1}"


def test_node_link_json_round_trips(plane, topo):
    g = _graph(plane)
    data = json.loads(json.dumps(to_json(g)))
    back = from_json(data)
    assert set(back.nodes) == set(g.nodes) and back.number_of_edges() == g.number_of_edges()
    assert back.nodes[f"port:{topo.web1}"]["id"] == topo.web1


def test_security_group_graph_has_members_and_remote_references(plane, topo):
    g = security_group_graph(plane.snapshot())
    assert members(g, topo.sg_web) == {topo.web1, topo.web2}
    assert members(g, topo.sg_tag) == set()
    remote = g.edges[f"group:{topo.sg_web}", f"group:{topo.sg_bastion}"]
    assert remote["kind"] == "remote" and [r["id"] for r in remote["rules"]] == [topo.rule_web_ssh]
    assert g.nodes[f"group:{topo.sg_tag}"]["exists"] is True


# --- over HTTP -----------------------------------------------------------------------------------


def test_a_project_sees_its_part_with_other_projects_routers_as_stubs(demo, topo):
    data = demo.ask("/topology", method="GET")
    g = from_json(data)
    assert f"port:{topo.web1}" in g and f"router:{topo.r1}" in g and f"network:{topo.public}" in g
    assert f"port:{topo.x1}" not in g and f"router:{topo.r2}" not in g and f"network:{topo.net_x}" not in g
    text = json.dumps(data)
    for foreign in (topo.x1, topo.r2, topo.net_x):
        assert foreign not in text
    stubs = [d for n, d in g.nodes(data=True) if n.startswith("router:hidden")]
    assert stubs and all(d["id"] is None and d["project"] is None for d in stubs)


def test_admin_sees_everything(admin, topo):
    g = from_json(admin.ask("/topology", method="GET"))
    assert {f"port:{topo.x1}", f"router:{topo.r2}", f"port:{topo.web2}"} <= set(g.nodes)


def test_reach_from_over_http_and_another_projects_port_is_404(demo, topo):
    g = from_json(demo.ask(f"/topology?reach_from={topo.bastion}&protocol=tcp&destination_port=22", method="GET"))
    assert g.nodes[f"port:{topo.web2}"]["reach"] == "ACCEPTED"
    assert demo.sim("GET", f"/topology?reach_from={topo.x1}").status_code == 404


def test_topology_is_listed_among_the_questions(demo):
    assert "topology" in {q["name"] for q in demo.ask("", method="GET")["questions"]}


# --- xloudnet topology ---------------------------------------------------------------------------


def test_cli_topology_prints_a_tree_from_external_down(run, cli_topo):
    code, out, _ = run("topology")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("external")
    order = [next(i for i, line in enumerate(lines) if text in line) for text in ("network public", "router r1",
                                                                                 "network net-a", "port web1")]
    assert order == sorted(order)
    assert "router hidden" in out and "x1" not in out


def test_cli_topology_json_dot_and_png(run, cli_topo, tmp_path):
    code, out, _ = run("topology", "--json")
    assert code == 0 and f"port:{cli_topo.web1}" in {n["node"] for n in json.loads(out)["nodes"]}
    code, out, _ = run("topology", "--dot")
    assert code == 0 and out.startswith("digraph topology {") and "0.0.0.0/0 via 203.0.113.1" in out
    png = tmp_path / "topo.png"
    code, out, _ = run("topology", "--png", str(png), "--reach-from", "bastion", "-p", "tcp", "--port", "22")
    assert code == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_topology_reach_from_by_name_colours_the_tree(run, cli_topo):
    code, out, _ = run("topology", "--reach-from", "bastion", "-p", "tcp", "--port", "80")
    assert code == 0
    assert "port web1" in out and "→ ACCEPTED" in out and "external → EXITS_NETWORK" in out
    code, _out, err = run("topology", "--reach-from", "nope")
    assert code == 2 and "no port named 'nope'" in err


def test_cli_topology_for_another_user_shows_their_half(run, server):
    with httpx.Client(base_url=server[0], timeout=30) as http:
        Caller(http, login(http, "alt_demo"))  # the account exists and logs in
    code, out, _ = run("topology", user="alt_demo")
    assert code == 0 and "port x1" in out and "web1" not in out


def test_the_answer_matches_its_documented_schema(demo, client, topo):
    from xloudnet.analysis.topology import TopologyGraph

    answer = TopologyGraph.model_validate(demo.ask(f"/topology?reach_from={topo.bastion}", method="GET"))
    assert {n.kind for n in answer.nodes} >= {"external", "network", "router", "port"}
    schema = client.get("/openapi.json").json()
    assert "TopologyGraph" in str(schema["paths"]["/simulation/v1/topology"]["get"]["responses"]["200"])


def test_bad_reach_questions_get_neutron_errors(demo, topo):
    from sim_helpers import neutron_error

    for query, status in ((f"reach_from={topo.bastion}&protocol=bogus", 400),
                          (f"reach_from={topo.bastion}&destination_port=abc", 400),
                          ("reach_from=no-such-port", 404)):
        response = demo.sim("GET", f"/topology?{query}")
        assert response.status_code == status, (query, response.text)
        neutron_error(response)


def test_visible_part_never_leaks_an_invisible_id(plane, topo):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from xloudnet.analysis.topology import visible_part

    graph = _graph(plane, tables=True)
    reach_from(graph, topo.bastion, {"protocol": "icmp"})  # delivered_to may name another port
    ids = sorted({d["id"] for _n, d in graph.nodes(data=True) if d["id"]})

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.sets(st.sampled_from(ids)))
    def check(visible):
        text = json.dumps(to_json(visible_part(graph, lambda kind, rid: rid in visible)))
        assert not [rid for rid in ids if rid not in visible and rid in text]

    check()
