"""``xloudnet import`` brings a real cloud's port forwardings (ranges and descriptions included)
into the scenario file, and provisioning that file reproduces them."""

from __future__ import annotations

import pytest
from cloud_helpers import serving
from e2e_helpers import PASSWORD, connect

from xloudnet.cli import main
from xloudnet.scenarios.loader import load
from xloudnet.scenarios.provision import embedded_plane, project_ids, provision

pytestmark = pytest.mark.e2e

KEYS = ("protocol", "internal_ip_address", "external_port_range", "internal_port_range", "description")


def _forwardings(snapshot_or_list, address_of) -> set:
    return {(address_of(pf["floatingip_id"]), *(pf[k] for k in KEYS)) for pf in snapshot_or_list}


def test_import_keeps_port_forwardings(capsys, monkeypatch, tmp_path):
    for key in ("OS_CLOUD", "OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME", "XLOUDNET_URL"):
        monkeypatch.delenv(key, raising=False)
    with serving() as server:
        admin, demo = connect(server, "admin"), connect(server, "demo")
        ext = admin.network.create_network(name="ext", is_router_external=True)
        admin.network.create_subnet(network_id=ext.id, cidr="172.24.4.0/24", ip_version=4, is_dhcp_enabled=False)
        net = demo.network.create_network(name="app")
        sub = demo.network.create_subnet(network_id=net.id, cidr="10.60.0.0/24", ip_version=4)
        router = demo.network.create_router(name="edge", external_gateway_info={"network_id": ext.id})
        demo.network.add_interface_to_router(router, subnet_id=sub.id)
        vm = demo.network.create_port(network_id=net.id, name="web-1", device_owner="compute:nova")
        fip = demo.network.create_ip(floating_network_id=ext.id)
        address = vm.fixed_ips[0]["ip_address"]
        demo.network.create_port_forwarding(floatingip_id=fip.id, internal_port_id=vm.id, internal_ip_address=address,
                                            internal_port=22, external_port=2222, protocol="tcp", description="ssh")
        demo.network.post(f"/floatingips/{fip.id}/port_forwardings", json={"port_forwarding": {
            "internal_port_id": vm.id, "internal_ip_address": address, "protocol": "udp",
            "external_port_range": "5000:5009", "internal_port_range": "6000:6009"}}).raise_for_status()
        listed = demo.network.get(f"/floatingips/{fip.id}/port_forwardings").json()["port_forwardings"]
        want = _forwardings([dict(pf, floatingip_id=fip.id) for pf in listed], lambda _: fip.floating_ip_address)
        assert main(["import", "--url", server, "--user", "admin", "--password", PASSWORD,
                     "-o", str(tmp_path / "cloud.yaml")]) == 0, capsys.readouterr().err

    scenario, source = load(tmp_path / "cloud.yaml")
    plane, ids = embedded_plane()
    provision(scenario, source, plane, project_ids(scenario), ids=ids)
    snapshot = plane.snapshot()
    got = _forwardings(snapshot.port_forwardings.values(),
                       lambda fid: snapshot.floatingips[fid]["floating_ip_address"])
    assert got == want and len(want) == 2
    held = snapshot.floatingips[fip.id]
    assert (held["router_id"], held["port_id"]) == (router.id, None)


SCENARIO = """\
networks:
  - {name: ext, project: admin, external: true}
  - {name: app}
subnets:
  - {name: ext-sub, project: admin, network: ext, cidr: 172.24.4.0/24, enable_dhcp: false}
  - {name: app-sub, network: app, cidr: 10.60.0.0/24}
routers:
  - {name: edge, external_gateway_info: {network: ext}, interfaces: [app-sub]}
ports:
  - {name: web-1, network: app, device_owner: "compute:nova"}
floating_ips:
  - floating_network: ext
    floating_ip_address: 172.24.4.77
    port_forwardings:
      - {port: web-1, external_port: 2222, internal_port: 22, description: ssh}
      - {port: web-1, protocol: udp, external_port_range: "5000:5009", internal_port_range: "6000:6009"}
"""


def test_apply_creates_port_forwardings_and_a_second_apply_changes_nothing(capsys, monkeypatch, tmp_path):
    import json

    for key in ("OS_CLOUD", "OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME", "XLOUDNET_URL"):
        monkeypatch.delenv(key, raising=False)
    path = tmp_path / "pf.yaml"
    path.write_text(SCENARIO)
    with serving() as server:
        login = ["--url", server, "--user", "admin", "--password", PASSWORD]
        assert main(["apply", str(path), *login]) == 0, capsys.readouterr().err
        capsys.readouterr()
        demo = connect(server, "admin")
        [fip] = [f for f in demo.network.ips() if f.floating_ip_address == "172.24.4.77"]
        listed = demo.network.get(f"/floatingips/{fip.id}/port_forwardings").json()["port_forwardings"]
        assert sorted((pf["protocol"], pf["external_port_range"], pf["internal_port_range"]) for pf in listed) == [
            ("tcp", "2222:2222", "22:22"), ("udp", "5000:5009", "6000:6009")]
        assert main(["apply", str(path), *login, "--json"]) == 0
        steps = json.loads(capsys.readouterr().out)["steps"]
        forwardings = [s for s in steps if s["kind"] == "port forwarding"]
        assert len(forwardings) == 2 and {s["action"] for s in steps} == {"unchanged"}
