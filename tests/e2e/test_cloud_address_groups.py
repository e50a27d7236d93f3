"""``xloudnet apply`` / ``import`` carry address groups and the rules naming them to and from a
cloud (``xloudnet serve`` itself): the imported file gives the original's verdicts, a second
apply changes nothing, and a changed address list is applied through the address actions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))
from test_address_groups_scenario import CLOUD, EXPECT  # noqa: E402
from test_cloud_import_apply import as_admin, imported_with_questions, server, verdicts, xloudnet  # noqa: E402,F401

pytestmark = pytest.mark.e2e


def test_apply_import_run_keeps_address_groups_and_verdicts(server, xloudnet, tmp_path):
    original = tmp_path / "ag.yaml"
    original.write_text(CLOUD + EXPECT)
    code, _, err = xloudnet("apply", str(original), *as_admin(server))
    assert code == 0, err
    copy = imported_with_questions(xloudnet, server, original, tmp_path / "imported.yaml")
    imported = yaml.safe_load(copy.read_text())
    assert {g["name"]: sorted(g["addresses"]) for g in imported["address_groups"]} == {
        "app-hosts": ["10.0.1.0/24"], "partners": ["100.100.0.0/16", "2001:db8:77::/48"]}
    assert verdicts(xloudnet, copy, False) == verdicts(xloudnet, original, False)
    assert all(status == "pass" for _name, status, _summary in verdicts(xloudnet, copy, False))


def test_second_apply_changes_nothing_and_new_addresses_are_added(server, xloudnet, tmp_path):
    path = tmp_path / "ag.yaml"
    path.write_text(CLOUD)
    assert xloudnet("apply", str(path), *as_admin(server))[0] == 0
    code, out, _ = xloudnet("apply", str(path), *as_admin(server), "--json")
    counts = json.loads(out)["applied"]
    assert code == 0 and counts["create"] == counts["update"] == 0
    path.write_text(CLOUD.replace("[10.0.1.0/24]", "[10.0.1.0/24, 10.0.3.0/24]"))
    code, out, _ = xloudnet("apply", str(path), *as_admin(server), "--json")
    assert code == 0 and json.loads(out)["applied"]["update"] == 1
    code, out, _ = xloudnet("import", *as_admin(server), "--json")
    groups = {g["name"]: sorted(g["addresses"]) for g in json.loads(out)["address_groups"]}
    assert groups["app-hosts"] == ["10.0.1.0/24", "10.0.3.0/24"]
