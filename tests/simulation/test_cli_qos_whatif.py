"""``xloudnet simulate FILE --change ...`` against a real server: a QoS what-if named by names,
as a before → after table, ``--json`` and a PNG."""

from __future__ import annotations

import json

import httpx
import pytest
import yaml
from cli_fixtures import run, server  # noqa: F401  (fixtures)
from sim_helpers import Caller, login

FRAMED = 1500 / 1514


@pytest.fixture(scope="module")
def qos(server):
    """admin's shared policies ``slow`` (2 Mbit/s egress) on demo's bastion port and ``quick``
    (20 Mbit/s), created over HTTP."""
    base, topo = server
    with httpx.Client(base_url=base, timeout=30) as http:
        admin, demo = (Caller(http, login(http, user)) for user in ("admin", "demo"))
        ids = {}
        for name, kbps in (("slow", 2000), ("quick", 20_000)):
            policy = admin.create("qos/policies", "policy", {"name": name, "shared": True})
            rule = admin.create(f"qos/policies/{policy['id']}/bandwidth_limit_rules", "bandwidth_limit_rule",
                                {"max_kbps": kbps, "max_burst_kbps": 100, "direction": "egress"})
            ids[name], ids[f"{name}_rule"] = policy["id"], rule["id"]
        moved = demo.neutron("PUT", f"/ports/{topo.bastion}", {"port": {"qos_policy_id": ids["slow"]}})
        assert moved.status_code == 200, moved.text
    return ids


def _request(tmp_path, **extra):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"duration_s": 1.0, "seed": 1, "flows": [
        {"source": {"port_id": "bastion"}, "destination": {"port_id": "web1"}, "protocol": "tcp",
         "destination_port": 80, "rate_kbps": 8000, "name": "bastion-web"}], **extra}))
    return str(path)


def test_moving_a_port_by_name_prints_before_and_after_and_writes_a_plot(run, qos, tmp_path):
    png = tmp_path / "whatif.png"
    code, out, err = run("simulate", _request(tmp_path), "--plot", str(png),
                         "--change", 'PUT /v2.0/ports/bastion {"port": {"qos_policy_id": "quick"}}')
    assert code == 0, err
    assert "QoS what-if: 1 change(s)" in out and "bastion-web" in out and "→" in out
    assert "change 1: PUT /v2.0/ports/bastion (" in out  # the change, named
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_raising_a_policy_as_admin_json_has_every_flow_before_and_after(run, qos, tmp_path):
    changes = tmp_path / "changes.yaml"
    changes.write_text(yaml.safe_dump([{"method": "PUT", "path": f"/v2.0/qos/policies/slow/bandwidth_limit_rules/"
                                                                 f"{qos['slow_rule']}",
                                        "body": {"bandwidth_limit_rule": {"max_kbps": 200_000}}}]))
    code, out, err = run("simulate", _request(tmp_path), "--changes", str(changes), "--json", user="admin")
    assert code == 0, err
    job = json.loads(out)
    assert job["changes"] == 1 and job["status"] == "ACTIVE"
    row = job["result"]["flows"][0]
    assert row["before"]["delivered_kbps"] == pytest.approx(2000 * FRAMED, rel=0.05)
    assert row["after"]["delivered_kbps"] == pytest.approx(8000, rel=0.02) and row["after"]["loss_ratio"] == 0


def test_a_refused_change_is_one_line_and_nothing_runs(run, qos, tmp_path):
    code, out, err = run("simulate", _request(tmp_path), "--change",
                         f"PUT /v2.0/qos/policies/slow/bandwidth_limit_rules/{qos['slow_rule']} "
                         '{"bandwidth_limit_rule": {"max_kbps": 1}}')
    assert code == 1 and "HTTP 403" in err and "change 0:" in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_an_unknown_policy_name_in_a_change_is_a_resolve_error(run, qos, tmp_path):
    code, _, err = run("simulate", _request(tmp_path), "--change",
                       'PUT /v2.0/ports/bastion {"port": {"qos_policy_id": "no-such-policy"}}')
    assert code == 1 and "no QoS policy named 'no-such-policy'" in err


def test_a_qos_rule_may_be_named_by_a_unique_id_prefix_within_its_policy(run, qos, tmp_path):
    change = f"PUT /v2.0/qos/policies/slow/bandwidth_limit_rules/{qos['slow_rule'][:8]} " \
             '{"bandwidth_limit_rule": {"max_kbps": 200000}}'
    code, out, err = run("simulate", _request(tmp_path), "--change", change, "--json", user="admin")
    assert code == 0, err
    row = json.loads(out)["result"]["flows"][0]
    assert row["after"]["delivered_kbps"] == pytest.approx(8000, rel=0.02)
    code, _, err = run("simulate", _request(tmp_path), "--change", change.replace(qos["slow_rule"][:8], "zz"),
                       user="admin")
    assert code == 1 and "'zz' is the start of 0 bandwidth limit rule ids" in err
