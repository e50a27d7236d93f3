"""Sweep files: validation with line numbers, expansion into points, and what each point runs
(in this process; the Dask runs are in test_sweep_dask.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xloudnet.cli import main
from xloudnet.scenarios.loader import ScenarioError
from xloudnet.sweep.cluster import run_serial
from xloudnet.sweep.plan import load_sweep

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
SWEEPS = SCENARIOS / "sweeps"
BASE = f"base: {SCENARIOS / 'qos-capacity.yaml'}\n"


def tasks_of(sweep):
    return sweep.tasks()


def problems(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_sweep(path)
    return [str(p) for p in caught.value.problems]


# --- validation ---------------------------------------------------------------------------------
def test_unknown_field_in_an_axis_is_reported_at_its_line(tmp_path):
    found = problems(BASE + "axes:\n  - offered:\n      rate_kbps: [1000]\n      colour: red\n", tmp_path)
    assert found == [f"{tmp_path / 'bad.yaml'}:5: axes[0].offered.colour: unknown field (not part of the "
                     f"scenario format; see `xloudnet scenario schema`)"]


def test_axis_naming_an_unknown_policy_flow_or_port_is_reported_at_its_line(tmp_path):
    text = (BASE + "axes:\n"
            "  - qos_rule: {policy: gold, values: [1000]}\n"              # line 3
            "  - offered: {flows: [t01-upload, nope], rate_kbps: [1]}\n"  # line 4
            "  - policy: {ports: [ghost-vm], values: [t01-limit]}\n")     # line 5
    found = problems(text, tmp_path)
    assert any(":3: axes[0].qos_rule.policy: QoS policy 'gold' is not defined" in p for p in found)
    assert any(":4: axes[1].offered.flows[1]: flow 'nope' is not in the base's traffic" in p for p in found)
    assert any(":5: axes[2].policy.ports: port 'ghost-vm' is not defined" in p for p in found)


def test_yaml_syntax_error_is_reported_with_its_line(tmp_path):
    found = problems(BASE + "axes:\n  - offered: rate_kbps: [1]\n  - flows: {count: [1]}\n", tmp_path)
    assert len(found) == 1 and ":3:" in found[0] and "not valid YAML" in found[0]


def test_an_axis_with_two_kinds_is_refused(tmp_path):
    found = problems(BASE + "axes:\n  - offered: {rate_kbps: [1]}\n    flows: {count: [1]}\n", tmp_path)
    assert any(":3: axes[0]: an axis has exactly one of" in p for p in found)


def test_missing_base_file_is_reported_at_the_base_line(tmp_path):
    found = problems("name: x\nbase: nowhere.yaml\naxes:\n  - flows: {count: [1]}\n", tmp_path)
    assert len(found) == 1 and ":2: base: scenario file 'nowhere.yaml' not found" in found[0]


def test_inline_base_problems_carry_the_sweep_files_lines(tmp_path):
    text = ("base:\n  scenario:\n    networks:\n      - {name: n1}\n    subnets:\n"
            "      - {name: s1, network: missing, cidr: 10.0.0.0/24}\n"
            "axes:\n  - flows: {count: [1]}\nrun: intents\n")
    found = problems(text, tmp_path)
    assert any(":6: base.scenario.subnets[0].network: network 'missing' is not defined" in p for p in found)


def test_bad_sweep_file_on_the_command_line_exits_2_with_line_numbered_errors(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(BASE + "axes:\n  - flows: {count: [11]}\n")
    assert main(["sweep", str(path), "--serial"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"{path}:3: axes[0].flows.count[0]: the base scenario has 10 traffic flow(s), not 11"]


# --- expansion ----------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3))
def test_points_are_the_cartesian_product_of_the_axes(tmp_path_factory, sizes):
    text = BASE + "axes:\n" + "".join(
        f"  - name: a{i}\n    offered: {{flows: [t0{i + 1}-upload], rate_kbps: {[100 * (k + 1) for k in range(n)]}}}\n"
        for i, n in enumerate(sizes))
    path = tmp_path_factory.mktemp("sweep") / "s.yaml"
    path.write_text(text)
    sweep = load_sweep(path)
    combos = [tuple(p.values[f"a{i}"] for i in range(len(sizes))) for p in sweep.points]
    expected = 1
    for n in sizes:
        expected *= n
    assert len(combos) == expected == len(set(combos))
    for point in sweep.points:  # each point's scenario carries exactly its values
        rates = {f.name: f.rate_kbps for f in point.scenario.traffic.flows}
        assert all(rates[f"t0{i + 1}-upload"] == point.values[f"a{i}"] for i in range(len(sizes)))
    assert sweep.base.traffic.flows[0].rate_kbps == 6000  # the base itself is untouched


# --- what points run ----------------------------------------------------------------------------
def test_a_policys_rate_axis_limits_the_flow_through_the_simulator(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(BASE + "duration_s: 1\naxes:\n"
                    "  - qos_rule: {policy: t01-limit, values: [1000, 3000]}\n"
                    "  - policy: {ports: [t01-vm], values: [t01-limit, null]}\n")
    results = run_serial(tasks_of(load_sweep(path)))
    t01 = [next(f for f in r["flows"] if f["name"] == "t01-upload") for r in results]
    limited_1000, unlimited_a, limited_3000, unlimited_b = t01
    assert limited_1000["delivered_kbps"] < limited_3000["delivered_kbps"] < 0.9 * 6000
    assert limited_1000["delivered_kbps"] < 1500 and limited_1000["loss"] > 0.5
    # Without a policy the 6 Mbit/s flow gets through whatever the (unused) rule says.
    assert unlimited_a == unlimited_b and unlimited_a["loss"] == 0


def test_flow_count_axis_runs_the_first_n_flows():
    path = SWEEPS / "qos-rates.yaml"
    sweep = load_sweep(path)
    text = path.read_text().replace("  - name: limit_kbps\n", "  - flows: {count: [1, 3]}\n  - name: limit_kbps\n")
    sweep = load_sweep(path, text)
    assert [len(p.scenario.traffic.flows) for p in sweep.points[::16]] == [1, 3]


def test_changes_axis_applies_api_changes_and_intents_see_them():
    sweep = load_sweep(SWEEPS / "three-tier-changes.yaml")
    results = {r["index"]: r for r in run_serial(tasks_of(sweep))}
    labels = {p.index: p.labels["change"] for p in sweep.points}
    by = {labels[i]: r for i, r in results.items()}
    assert by["as-is"]["intents"] == {"pass": 8}
    assert by["web-to-db-postgres"]["failed"] == ["the web tier cannot reach the database at all"]
    # ssh from anywhere inside: the web tier and the application now reach the database on 22
    # (the internet still does not: the database has no floating IP).
    assert set(by["db-ssh-from-anywhere"]["failed"]) == {"the web tier cannot reach the database at all",
                                                         "the application talks to the database on postgres only"}
    assert "SSH to the database only through the bastion" in by["bastion-down"]["failed"]


def test_a_refused_change_fails_only_its_point_and_the_command_exits_1(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(f"base: {SCENARIOS / 'three-tier.yaml'}\nrun: intents\naxes:\n  - changes:\n      values:\n"
                    "        - {label: fine}\n"
                    "        - label: broken\n"
                    "          changes: [{method: DELETE, path: /v2.0/networks/no-such-net}]\n")
    assert main(["sweep", str(path), "--serial", "--json"]) == 1
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert [p["status"] for p in doc["points"]] == ["ok", "error"]
    assert "network 'no-such-net' is not defined" in doc["points"][1]["error"]
    assert captured.err.strip().splitlines() == [f"xloudnet: point 1 (changes=broken): {doc['points'][1]['error']}"]


def test_matrix_run_counts_reachable_pairs_per_point(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(f"base: {SCENARIOS / 'three-tier.yaml'}\nrun: matrix\nmatrix: {{protocol: tcp, port: 5432}}\n"
                    "axes:\n  - changes:\n      values:\n        - {label: as-is}\n        - label: open\n"
                    "          changes: [{method: POST, path: /v2.0/security-group-rules, body: {security_group_rule: "
                    "{security_group_id: db, direction: ingress, protocol: tcp, port_range_min: 5432, "
                    "port_range_max: 5432, remote_ip_prefix: 0.0.0.0/0}}}]\n")
    before, after = run_serial(tasks_of(load_sweep(path)))
    assert before["pairs"] == after["pairs"] == 25
    assert before["reachable_pairs"] == 1  # app-1 → db-1
    assert after["reachable_pairs"] == 5   # every server → db-1


def test_serial_sweep_writes_table_json_csv_and_png(tmp_path, capsys):
    out = tmp_path / "out"
    path = tmp_path / "s.yaml"
    path.write_text((SWEEPS / "qos-rates.yaml").read_text().replace("../qos-capacity.yaml", str(SCENARIOS / "qos-capacity.yaml"))
                    .replace("[2000, 4000, 8000, 16000]", "[2000, 8000]").replace("[2000, 6000, 10000, 20000]", "[2000, 10000]")
                    .replace("duration_s: 1", "duration_s: 0.5"))
    assert main(["sweep", str(path), "--serial", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "4 point(s), 4 ok, 0 failed" in printed
    doc = json.loads((out / "sweep.json").read_text())
    assert [p["labels"] for p in doc["points"]] == [
        {"limit_kbps": a, "t01_offered_kbps": b} for a in ("2000", "8000") for b in ("2000", "10000")]
    assert doc["plot"] == {"x": "t01_offered_kbps", "series": ["limit_kbps"], "flows": ["t01-upload"]}
    # Under its limit the flow gets what it offers; over it, about the limit.
    focus = [p["focus"] for p in doc["points"]]
    assert focus[0]["loss"] == 0  # (a few packets are still in flight when the run ends)
    assert focus[0]["delivered_kbps"] == pytest.approx(focus[0]["offered_kbps"], rel=0.03)
    assert focus[1]["delivered_kbps"] < 3000 < focus[3]["delivered_kbps"] < 10000
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert len(rows) == 4 * 11 and {r["flow"] for r in rows} >= {"*", "t01-upload"}
    assert (out / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_shipped_sweep_file_loads():
    for path in sorted(SWEEPS.glob("*.yaml")):
        assert load_sweep(path).points, path


def test_a_point_the_engine_refuses_fails_alone_without_a_traceback(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(f"base: {SCENARIOS / 'three-tier.yaml'}\nrun: matrix\nmatrix: {{protocol: bogus}}\n"
                    "axes:\n  - changes: {values: [{label: as-is}]}\n")
    assert main(["sweep", str(path), "--serial"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("xloudnet: point 0 (changes=as-is): ") and "Traceback" not in err[0]
    assert "bogus" in err[0] and "internal error" not in err[0]


def test_the_server_and_the_cli_start_without_loading_dask():
    import os
    import subprocess
    import sys

    code = ("import sys, xloudnet.api.app, xloudnet.cli, xloudnet.analysis, xloudnet.sweep; "
            "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT / "src")))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_backend_axis_runs_each_agents_semantics(tmp_path):
    """The same policed flow under OVS, Linux bridge and OVN: each point's simulation follows its
    backend (Linux bridge's tc reads the burst in 1024-bit kilobits, so it lets more through)."""
    path = tmp_path / "s.yaml"
    path.write_text(BASE + "duration_s: 1\nengine: batched\naxes:\n"
                    "  - backend: {values: [ovs, linuxbridge, ovn]}\n"
                    "  - offered: {flows: [t01-upload], rate_kbps: [3000, 12000]}\n")
    results = run_serial(tasks_of(load_sweep(path)))
    assert [r["backend"] for r in results] == ["ovs"] * 2 + ["linuxbridge"] * 2 + ["ovn"] * 2
    assert {r["engine"] for r in results} == {"batched"}
    t01 = [next(f for f in r["flows"] if f["name"] == "t01-upload") for r in results]
    assert all(f["loss"] == 0 for f in t01[::2])  # under the 4 Mbit/s limit: nothing policed
    assert all(f["loss"] > 0.5 for f in t01[1::2])  # 12 Mbit/s into 4: most is dropped
    assert len({f["delivered_kbps"] for f in t01[1::2]}) > 1  # the backends do not agree
