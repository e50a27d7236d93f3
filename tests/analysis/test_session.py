"""The analysis library's public surface: ``xloudnet.analysis.Session`` and its typed questions
and answers, used from Python exactly as the HTTP API and the CLI use it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import networkx as nx
import pytest
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

import xloudnet.analysis as analysis
from xloudnet.analysis import (LintAnswer, MatrixAnswer, ReachAnswer, ReachQuestion, Session, SGTestAnswer,
                               SimulationResult, WhatIfAnswer)
from xloudnet.control import errors
from xloudnet.control.context import Context
from xloudnet.control.plane import ControlPlane

SRC = Path(analysis.__file__).resolve().parent.parent


def test_public_surface_is_pinned():
    assert sorted(analysis.__all__) == sorted([
        "Session", "PreparedSimulation", "PreparedQosWhatIf", "HIDDEN", "QueryError",
        "Endpoint", "ReachQuestion", "MatrixQuestion", "Change", "WhatIfQuestion", "SGTestQuestion", "LintQuestion",
        "SimulatedFlow", "SimulationRequest", "QosWhatIfQuestion",
        "ReachAnswer", "Hop", "Packet", "AllowedService", "MatrixAnswer", "WhatIfAnswer", "FlowChange",
        "SGTestAnswer", "LintAnswer", "Finding", "SimulationResult", "SimulationJob", "QosWhatIfAnswer",
    ])
    for name in analysis.__all__:
        assert getattr(analysis, name) is not None


def _project(name: str) -> Context:
    return Context(project_id=name, user_id=f"{name}-user", roles=frozenset({"member", "reader"}))


@pytest.fixture
def cloud():
    """demo: one network, two VMs in a group admitting tcp/22 from anywhere; alt: one VM."""
    plane = ControlPlane()
    demo, alt = _project("demo"), _project("alt")
    net = plane.networks.create(demo, {"name": "net1"})
    plane.subnets.create(demo, {"network_id": net["id"], "cidr": "10.0.0.0/24", "ip_version": 4})
    group = plane.security_groups.create(demo, {"name": "ssh"})
    rule = plane.security_group_rules.create(demo, {
        "security_group_id": group["id"], "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
        "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"})
    vms = [plane.ports.create(demo, {"network_id": net["id"], "name": f"vm{i}", "device_owner": "compute:nova",
                                     "security_groups": [group["id"]]}) for i in (1, 2)]
    other = plane.networks.create(alt, {"name": "alt-net"})
    plane.subnets.create(alt, {"network_id": other["id"], "cidr": "10.1.0.0/24", "ip_version": 4})
    theirs = plane.ports.create(alt, {"network_id": other["id"], "name": "x1", "device_owner": "compute:nova"})
    return {"plane": plane, "demo": demo, "alt": alt, "vm1": vms[0]["id"], "vm2": vms[1]["id"],
            "rule": rule["id"], "x1": theirs["id"], "group": group["id"]}


def _ends(cloud):
    return {"source": {"port_id": cloud["vm1"]}, "destination": {"port_id": cloud["vm2"]}}


def test_a_session_without_context_asks_as_admin_and_sees_every_project(cloud):
    session = Session(cloud["plane"])
    assert session.context.is_admin
    assert set(session.matrix(protocol="icmp").sources) == {cloud["vm1"], cloud["vm2"], cloud["x1"]}


def test_reach_takes_a_model_a_dict_or_keywords_and_answers_a_typed_model(cloud):
    session = Session(cloud["plane"], cloud["demo"])
    fields = dict(_ends(cloud), protocol="tcp", destination_port=22)
    answers = [session.reach(ReachQuestion(**fields)), session.reach(fields), session.reach(**fields)]
    assert all(isinstance(a, ReachAnswer) for a in answers)
    assert {a.disposition for a in answers} == {"ACCEPTED"}
    body = answers[0].model_dump()
    assert body["reachable"] is True and body["hops"][0]["stage"] == "enter" and "return" in body
    assert isinstance(answers[0].table(), Table)


def test_reach_without_a_protocol_gives_the_exact_allowed_set(cloud):
    answer = Session(cloud["plane"], cloud["demo"]).reach(**_ends(cloud))
    assert [(a.protocol, a.port_ranges) for a in answer.allowed] == [("tcp", [[22, 22]])]


def test_every_question_answers_a_model_with_a_table(cloud):
    session = Session(cloud["plane"], cloud["demo"])
    answers = [
        session.matrix(protocol="tcp", destination_port=22),
        session.whatif(changes=[{"method": "DELETE", "path": f"/v2.0/security-group-rules/{cloud['rule']}"}],
                       protocol="tcp", destination_port=22),
        session.sgtest(port_id=cloud["vm2"], direction="ingress", protocol="tcp", destination_port=22,
                       remote_ip_address="198.51.100.7"),
        session.lint(),
        session.simulate(flows=[dict(_ends(cloud), protocol="tcp", destination_port=22, rate_kbps=500,
                                     packet_size=500)], duration_s=0.2),
    ]
    kinds = [MatrixAnswer, WhatIfAnswer, SGTestAnswer, LintAnswer, SimulationResult]
    assert [type(a) for a in answers] == kinds
    matrix, whatif, sgtest, lint, simulation = answers
    assert matrix.sources == sorted([cloud["vm1"], cloud["vm2"]]) and matrix.reachable == [[True, True]] * 2
    assert len(whatif.newly_blocked) == 4 and whatif.changes_applied == 1  # every pair, self-pairs too
    assert sgtest.verdict == "PERMIT" and sgtest.matching_rules[0].rule_id == cloud["rule"]
    assert lint.summary["over_broad"] == 1
    assert simulation.flows[0].disposition == "ACCEPTED"
    console = Console(record=True, width=200)
    for answer in answers:
        console.print(answer.table())
    assert "PERMIT" in console.export_text()


def test_a_project_session_cannot_name_another_projects_port(cloud):
    session = Session(cloud["plane"], cloud["demo"])
    with pytest.raises(errors.PortNotFound):
        session.reach(source={"port_id": cloud["vm1"]}, destination={"port_id": cloud["x1"]}, protocol="icmp")
    with pytest.raises(errors.PolicyNotAuthorized):
        session.lint(project_id="alt")


def test_as_caller_shares_the_compiled_tables_and_changes_who_asks(cloud):
    admin = Session(cloud["plane"])
    demo = admin.as_caller(cloud["demo"])
    assert demo.live is admin.live and demo.context == cloud["demo"]
    assert cloud["x1"] not in demo.matrix(protocol="icmp").sources


def test_questions_refuse_unknown_keys_wrong_types_and_oversized_strings(cloud):
    session = Session(cloud["plane"], cloud["demo"])
    for bad in [dict(_ends(cloud), protocol="tcp", destination_port="22"),
                dict(_ends(cloud), colour="blue"),
                {"source": {"port_id": [cloud["vm1"]]}, "destination": {"port_id": cloud["vm2"]}},
                {"source": {"port_id": cloud["vm1"]}, "destination": {"ip_address": "10.0.0.9" + " " * 100}}]:
        with pytest.raises(ValidationError):
            session.reach(bad)


def test_topology_is_a_networkx_graph_of_the_cloud(cloud):
    graph = Session(cloud["plane"]).topology()
    assert isinstance(graph, nx.MultiDiGraph)
    net1 = next(n for n, data in graph.nodes(data=True) if data["kind"] == "network" and data["name"] == "net1")
    assert graph.has_edge(f"port:{cloud['vm1']}", net1)
    assert graph.nodes[f"port:{cloud['x1']}"]["kind"] == "port"


def test_a_projects_topology_has_only_what_it_may_see(cloud):
    graph = Session(cloud["plane"], cloud["demo"]).topology()
    assert f"port:{cloud['vm1']}" in graph and f"port:{cloud['x1']}" not in graph
    assert not any(cloud["x1"] in str(n) for n in graph)


def test_the_module_docstring_example_runs(capsys):
    block = re.search(r"Runnable example.*?::\n\n(.*?)\n\nSee ", analysis.__doc__, re.S).group(1)
    exec(compile("\n".join(line[4:] for line in block.splitlines()), "example", "exec"), {})  # noqa: S102
    assert "ACCEPTED" in capsys.readouterr().out


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_api_reaches_the_engine_only_through_the_analysis_library():
    for path in sorted((SRC / "api").glob("*.py")):
        for name in _imports(path):
            assert not re.match(r"^(\.\.|xloudnet\.)(dataplane|sim)\b", name), f"{path.name} imports {name}"
