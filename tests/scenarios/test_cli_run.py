"""`xloudnet run` and `xloudnet scenario`: exit status, JSON, the report directory, the schema."""

import json
import xml.etree.ElementTree as ET

import jsonschema
import yaml
from scenario_cases import SHIPPED

from xloudnet.cli import main

FAILING = """
expect:
  - name: web reaches db on postgres
    reach: {from: web-1, to: db-1, protocol: tcp, port: 5432}
  - name: db reaches web on ssh
    reach: {from: db-1, to: web-1, protocol: tcp, port: 22}
"""


def test_run_exits_0_when_every_intent_holds(capsys):
    three_tier = next(p for p in SHIPPED if p.stem == "three-tier")
    assert main(["run", str(three_tier)]) == 0
    out = capsys.readouterr().out
    assert "all intents hold" in out and "PASS" in out


def test_run_exits_1_and_prints_the_counter_example_trace(scenario_file, capsys):
    assert main(["run", str(scenario_file(FAILING))]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "counter-example" in out
    assert "ingress-security-group" in out and "DENIED_INGRESS" in out
    assert "server db-1" in out  # trace nodes by name, not id


def test_json_output_lists_each_intent_with_its_counter_example(scenario_file, capsys):
    assert main(["run", "--json", str(scenario_file(FAILING))]) == 1
    document = json.loads(capsys.readouterr().out)
    intents = document["runs"][0]["intents"]
    assert [i["status"] for i in intents] == ["pass", "fail"]
    assert intents[1]["counterexample"]["answer"]["disposition"] == "DENIED_INGRESS"
    assert "server web-1" in intents[1]["counterexample"]["names"].values()
    assert document["summary"]["exit_status"] == 1


def test_report_directory_holds_json_junit_and_plots(scenario_file, tmp_path, capsys):
    qos = next(p for p in SHIPPED if p.stem == "qos-capacity")
    bad = scenario_file(base="networks: [{name: n, colour: red}]\n", name="bad.yaml")
    report = tmp_path / "report"
    assert main(["run", str(scenario_file(FAILING)), str(qos), str(bad), "--report", str(report)]) == 2
    document = json.loads((report / "report.json").read_text())
    assert document["summary"]["bad_scenarios"] == 1
    suites = ET.parse(report / "junit.xml").getroot()
    cases = suites.findall(".//testcase")
    assert len(cases) == 2 + 11 + 1
    assert len(suites.findall(".//failure")) == 1 and len(suites.findall(".//error")) == 1
    assert (report / "intents.png").read_bytes()[:4] == b"\x89PNG"
    assert (report / "qos-capacity-traffic.png").read_bytes()[:4] == b"\x89PNG"


def test_scenario_schema_validates_every_shipped_scenario(capsys):
    assert main(["scenario", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    for path in SHIPPED:
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_scenario_schema_refuses_an_unknown_field(capsys):
    main(["scenario", "schema"])
    schema = json.loads(capsys.readouterr().out)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors({"networks": [{"name": "n", "colour": 1}]}))
    assert errors


def test_scenario_check_reports_problems_with_exit_2(scenario_file, capsys):
    good = next(p for p in SHIPPED if p.stem == "transit")
    assert main(["scenario", "check", str(good)]) == 0
    assert "1 scenario(s) valid" in capsys.readouterr().out
    bad = scenario_file(base="subnets: [{name: s, network: nowhere, cidr: 10.0.0.0/24}]\n")
    assert main(["scenario", "check", "--json", str(bad)]) == 2
    document = json.loads(capsys.readouterr().out)
    assert document["problems"][0]["message"] == "network 'nowhere' is not defined"
    assert document["problems"][0]["line"] == 1


def test_written_scenarios_read_back_equal():
    from xloudnet.scenarios.loader import load
    from xloudnet.scenarios.writer import dump

    for path in SHIPPED:
        scenario, _ = load(path)
        again, _ = load(path.name, dump(scenario))
        assert again == scenario


def test_run_takes_a_directory_of_scenarios(capsys):
    from scenario_cases import ROOT

    assert main(["run", "--json", "--no-traffic", str(ROOT / "scenarios")]) == 1  # QoS intents need traffic
    document = json.loads(capsys.readouterr().out)
    assert sorted(r["name"] for r in document["runs"]) == sorted(p.stem for p in SHIPPED)
    qos = next(r for r in document["runs"] if r["name"] == "qos-capacity")
    assert {i["status"] for i in qos["intents"] if i["kind"] == "qos"} == {"error"}
