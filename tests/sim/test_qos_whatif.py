"""QoS what-if on two compiled states: raising a policy's limit, moving a port to another policy."""

from __future__ import annotations

import pytest
from rich.console import Console
from sim_cases import flow, tables_with_qos

from xloudnet.analysis.qos_whatif import qos_whatif, whatif_table


def _limit(kbps):
    return [{"id": "bw", "type": "bandwidth_limit", "max_kbps": kbps, "max_burst_kbps": 100, "direction": "egress"}]


def test_raising_a_policy_shows_the_throughput_it_frees_and_the_loss_it_ends():
    before = tables_with_qos(ports={"vm-a": "q"}, policies={"q": _limit(2000)})
    after = tables_with_qos(ports={"vm-a": "q"}, policies={"q": _limit(20_000)})
    answer = qos_whatif(before, after, {"duration_s": 2, "flows": [flow("vm-a", "vm-b", 8000, name="web")]})
    row = answer["flows"][0]
    assert row["name"] == "web"
    assert row["before"]["delivered_kbps"] == pytest.approx(2000 * 1500 / 1514, rel=0.05)
    assert row["after"]["delivered_kbps"] == pytest.approx(8000, rel=0.01) and row["after"]["loss_ratio"] == 0
    assert row["delivered_kbps_change"] > 5500
    text = Console(width=160, record=True)
    text.print(whatif_table(answer))
    shown = text.export_text()
    assert "web" in shown and "ACCEPTED → ACCEPTED" in shown


def test_moving_a_port_off_its_policy_frees_its_flows_and_leaves_the_others_policed():
    policies = {"q": _limit(1000)}
    before = tables_with_qos(ports={"vm-a": "q", "vm-b": "q"}, policies=policies)
    after = tables_with_qos(ports={"vm-b": "q"}, policies=policies)
    flows = [flow("vm-a", "vm-b", 3000), flow("vm-b", "vm-a", 3000, protocol="udp", port=53)]
    rows = qos_whatif(before, after, {"duration_s": 2, "seed": 4, "flows": flows})["flows"]
    assert rows[0]["after"]["delivered_kbps"] > 2 * rows[0]["before"]["delivered_kbps"]
    for key in ("delivered_kbps", "loss_ratio", "disposition"):  # latency may move: they share r1
        assert rows[1]["after"][key] == rows[1]["before"][key]
