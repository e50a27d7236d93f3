"""Sweeps and the partitioned matrix on a real two-worker LocalCluster (conftest.py): the same
answers as one process, and one-line errors when no cluster answers."""

from __future__ import annotations

import functools
import json
import socket
from pathlib import Path

import numpy as np

from xloudnet.analysis.matrix import matrix
from xloudnet.analysis.partitioned import matrix_codes, partitioned_matrix
from xloudnet.cli import main
from xloudnet.dataplane import compile_tables
from xloudnet.dataplane.synthetic import synthetic_snapshot
from xloudnet.sweep.cluster import run_on, run_serial
from xloudnet.sweep.plan import load_sweep

ROOT = Path(__file__).resolve().parents[2]
SWEEPS = ROOT / "scenarios" / "sweeps"


def tasks_of(sweep):
    return sweep.tasks()


def without_timing(results):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in results]


def test_sweep_on_two_workers_equals_the_same_points_run_serially(client):
    text = (SWEEPS / "uplink-capacity.yaml").read_text().replace("duration_s: 2", "duration_s: 0.5")
    text = text.replace("[20000, 30000, 40000, 50000]", "[20000, 50000]").replace("[2000, 4000, 6000, 8000]", "[2000, 8000]")
    sweep = load_sweep(SWEEPS / "uplink-capacity.yaml", text)
    tasks = tasks_of(sweep)
    seen = []
    distributed = run_on(client, tasks, seen.append)
    serial = run_serial(tasks)
    assert len(distributed) == 8 and all(r["status"] == "ok" for r in distributed)
    assert without_timing(distributed) == without_timing(serial)
    assert sorted(r["index"] for r in seen) == list(range(8))  # progress saw every point once
    # The points differ from each other: the axes reach the simulator.
    assert len({r["delivered_kbps"] for r in distributed}) >= 4


def test_intents_sweep_on_workers_equals_serial(client):
    tasks = tasks_of(load_sweep(SWEEPS / "three-tier-changes.yaml"))
    assert without_timing(run_on(client, tasks)) == without_timing(run_serial(tasks))


def test_partitioned_matrix_equals_the_one_process_matrix(client):
    snapshot = synthetic_snapshot(ports=300, groups=20, rules=200, seed=3)
    tables = compile_tables(snapshot)
    for query in ({"protocol": "tcp", "destination_port": 22}, {"protocol": "icmp"}):
        expected = matrix(tables, query)
        got = partitioned_matrix(client, snapshot, query, blocks_per_worker=3)
        assert got.as_answer() == expected
    # Workers building the same cloud themselves (nothing shipped) give the same answer.
    built = partitioned_matrix(client, functools.partial(synthetic_snapshot, ports=300, groups=20, rules=200, seed=3),
                               {"protocol": "tcp", "destination_port": 22})
    assert np.array_equal(built.codes, matrix_codes(tables, {"protocol": "tcp", "destination_port": 22}).codes)


def test_partitioned_matrix_with_named_sources_and_an_external_destination(client):
    snapshot = synthetic_snapshot(ports=120, groups=10, rules=80, seed=5)
    tables = compile_tables(snapshot)
    ports = sorted(p for p, r in snapshot.ports.items() if r["device_owner"] == "compute:nova")
    fip = next(iter(snapshot.floatingips.values()))["floating_ip_address"]
    query = {"protocol": "tcp", "destination_port": 80, "sources": [{"port_id": p} for p in ports[::7]],
             "destinations": [{"port_id": p} for p in ports[:40]] + [{"ip_address": fip}]}
    assert partitioned_matrix(client, snapshot, query).as_answer() == matrix(tables, query)


def test_sweep_command_on_an_existing_scheduler(client, tmp_path, capsys):
    address = client.scheduler.address
    text = (SWEEPS / "three-tier-changes.yaml").read_text().replace("../three-tier.yaml",
                                                                    str(ROOT / "scenarios" / "three-tier.yaml"))
    path = tmp_path / "s.yaml"
    path.write_text(text)
    assert main(["sweep", str(path), "--scheduler", address, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["where"] == f"on {address}"
    assert [p["labels"]["change"] for p in doc["points"]] == ["as-is", "web-to-db-postgres", "db-ssh-from-anywhere",
                                                              "bastion-down"]


def test_matrix_command_partitioned_on_a_scheduler_equals_the_local_one(client, capsys):
    scenario = str(ROOT / "scenarios" / "three-tier.yaml")
    assert main(["matrix", "--scenario", scenario, "--protocol", "tcp", "--port", "22", "--json"]) == 0
    local = json.loads(capsys.readouterr().out)
    assert main(["matrix", "--scenario", scenario, "--protocol", "tcp", "--port", "22", "--json",
                 "--scheduler", client.scheduler.address]) == 0
    partitioned = json.loads(capsys.readouterr().out)
    # Provisioning gives the same ids on every run: the two answers are equal cell for cell.
    assert partitioned == local
    assert len(local["sources"]) == 5 and sum(map(sum, local["reachable"])) > 0


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sweep_to_an_unreachable_scheduler_is_a_one_line_error(capsys):
    address = f"tcp://127.0.0.1:{_closed_port()}"
    code = main(["sweep", str(SWEEPS / "qos-rates.yaml"), "--scheduler", address, "--connect-timeout", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith(f"xloudnet: cannot reach the Dask scheduler at {address}: ")


def test_matrix_workers_without_a_scenario_is_a_usage_error(capsys):
    assert main(["matrix", "--protocol", "tcp", "--port", "22", "--workers", "2"]) == 2
    assert capsys.readouterr().err.strip() == ("xloudnet: --workers / --scheduler partition a scenario's matrix: "
                                               "give --scenario FILE")


def test_sweep_command_starts_and_closes_its_own_local_cluster(tmp_path):
    """The real command in a subprocess: its LocalCluster runs the points and is gone when it exits."""
    import os
    import subprocess
    import sys

    text = (SWEEPS / "three-tier-changes.yaml").read_text().replace("../three-tier.yaml",
                                                                    str(ROOT / "scenarios" / "three-tier.yaml"))
    path = tmp_path / "s.yaml"
    path.write_text(text)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    done = subprocess.run([sys.executable, "-m", "xloudnet.cli", "sweep", str(path), "--workers", "1", "--json",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["summary"]["where"] == "on a local Dask cluster of 1 worker"
    assert [p["intents"].get("fail", 0) for p in doc["points"]] == [0, 1, 2, 2]
    assert {f.name for f in (tmp_path / "out").iterdir()} == {"sweep.json", "sweep.csv", "sweep.png"}
