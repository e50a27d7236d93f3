"""Every ``xloudnet`` line of the README's analyser block works as written against a real server
holding what the README's ``openstack`` lines create (as demo: net1, sub1, a tcp/22 rule in
the default group, ports vm1 and vm2; as admin the shared 10 Mbit/s QoS policy ``bronze`` the
QoS what-if line names), with the files the repository ships. Output files are
redirected to a temporary directory; a command may answer "no" (exit 1) but never fail to ask
(exit 2)."""

from __future__ import annotations

import shlex
from pathlib import Path

import httpx
import pytest
from cli_fixtures import run, server  # noqa: F401  (fixtures)
from sim_helpers import Caller, login

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    block = text[text.index("Then ask the analyser"):]
    block = block[block.index("```bash") + len("```bash"):]
    block = block[:block.index("```")]
    return [shlex.split(line, comments=True) for line in block.strip().splitlines() if line.startswith("xloudnet ")]


@pytest.fixture(scope="module")
def readme_cloud(server):
    """What the README's openstack lines create, through the Neutron API as demo."""
    with httpx.Client(base_url=server[0], timeout=30) as http:
        demo = Caller(http, login(http, "demo"))
        net = demo.create("networks", "network", {"name": "net1"})
        demo.create("subnets", "subnet", {"network_id": net["id"], "cidr": "10.0.0.0/24", "ip_version": 4,
                                          "name": "sub1"})
        default = demo.neutron("GET", "/security-groups?name=default").json()["security_groups"][0]
        demo.create("security-group-rules", "security_group_rule", {
            "security_group_id": default["id"], "direction": "ingress", "protocol": "tcp",
            "port_range_min": 22, "port_range_max": 22})
        for name in ("vm1", "vm2"):
            demo.create("ports", "port", {"network_id": net["id"], "name": name})
        admin = Caller(http, login(http, "admin"))
        bronze = admin.create("qos/policies", "policy", {"name": "bronze", "shared": True})
        admin.create(f"qos/policies/{bronze['id']}/bandwidth_limit_rules", "bandwidth_limit_rule",
                     {"max_kbps": 10_000, "direction": "egress"})
    return server


def test_readme_lists_the_analyser_commands():
    names = [c[1] for c in readme_commands()]
    assert names == ["reach", "reach", "matrix", "whatif", "sgtest", "lint", "topology", "simulate", "simulate"]


@pytest.mark.parametrize("argv", readme_commands(), ids=lambda argv: " ".join(argv[:3]))
def test_readme_command_works_as_written(argv, readme_cloud, run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # --plot run.png / --png topology.png land here
    argv = [str(ROOT / a) if a.startswith("examples/") else a for a in argv[1:]]
    code, out, err = run(*argv)
    assert code in (0, 1), err
    assert "Traceback" not in err and out
    if argv[0] == "simulate" and "--change" not in argv:
        assert (tmp_path / "run.png").exists() and "bulk" in out
    if argv[0] == "simulate" and "--change" in argv:
        assert (tmp_path / "whatif.png").exists() and "QoS what-if" in out and "bulk" in out
    if argv[0] == "topology":
        assert (tmp_path / "topology.png").exists()
    if argv[:3] == ["reach", "vm1", "vm2"]:
        assert code == 0 and "ACCEPTED" in out
