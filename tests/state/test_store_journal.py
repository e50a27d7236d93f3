"""In-process: the store's commit point journals exactly what became visible, all or nothing."""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from xloudnet.control import errors, state
from xloudnet.control.context import Context
from xloudnet.control.neutron import NeutronAPI, Request
from xloudnet.control.plane import ControlPlane
from xloudnet.control.statelog import DB_FILE, StateError, StateLog
from xloudnet.control.store import Store

ADMIN = Context(project_id="admin-p", user_id="admin", roles=frozenset({"admin", "member", "reader"}))
DEMO = Context(project_id="demo-p", user_id="demo", roles=frozenset({"member", "reader"}))


def _plane() -> ControlPlane:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ticks = itertools.count()
    return ControlPlane(clock=lambda: start + timedelta(seconds=next(ticks)))


@pytest.fixture(params=["normal", "full"])
def durable(tmp_path, request):
    """(plane, api, log) with the plane journaling into a state directory (each sync mode)."""
    log = StateLog(tmp_path / "state", sync=request.param)
    plane = _plane()
    state.attach(plane, log)
    yield plane, NeutronAPI(plane), log
    log.close()


def _call(api, ctx, method, path, body=None):
    return api.handle(ctx, Request(method, path, body=body)).body


def _build(api) -> dict:
    """A small cloud with one of nearly everything."""
    ext = _call(api, ADMIN, "POST", "/v2.0/networks", {"network": {"router:external": True}})["network"]
    _call(api, ADMIN, "POST", "/v2.0/subnets", {"subnet": {"network_id": ext["id"], "ip_version": 4,
                                                            "cidr": "203.0.113.0/24"}})
    net = _call(api, DEMO, "POST", "/v2.0/networks", {"network": {"name": "n"}})["network"]
    sub = _call(api, DEMO, "POST", "/v2.0/subnets", {"subnet": {"network_id": net["id"], "ip_version": 4,
                                                                "cidr": "10.0.0.0/24"}})["subnet"]
    _call(api, DEMO, "POST", "/v2.0/subnets", {"subnet": {"network_id": net["id"], "ip_version": 6, "cidr": "fd00::/64",
                                                          "ipv6_address_mode": "slaac", "ipv6_ra_mode": "slaac"}})
    port = _call(api, DEMO, "POST", "/v2.0/ports", {"port": {"network_id": net["id"]}})["port"]
    router = _call(api, DEMO, "POST", "/v2.0/routers",
                   {"router": {"external_gateway_info": {"network_id": ext["id"]}}})["router"]
    _call(api, DEMO, "PUT", f"/v2.0/routers/{router['id']}/add_router_interface", {"subnet_id": sub["id"]})
    _call(api, DEMO, "POST", "/v2.0/floatingips", {"floatingip": {"floating_network_id": ext["id"],
                                                                   "port_id": port["id"]}})
    sg = _call(api, DEMO, "POST", "/v2.0/security-groups", {"security_group": {"name": "web"}})["security_group"]
    _call(api, DEMO, "POST", "/v2.0/security-group-rules", {"security_group_rule": {
        "security_group_id": sg["id"], "direction": "ingress", "protocol": "tcp",
        "port_range_min": 22, "port_range_max": 22}})
    policy = _call(api, ADMIN, "POST", "/v2.0/qos/policies", {"policy": {"name": "q", "project_id": "demo-p"}})["policy"]
    _call(api, ADMIN, "POST", f"/v2.0/qos/policies/{policy['id']}/bandwidth_limit_rules",
          {"bandwidth_limit_rule": {"max_kbps": 1000}})
    _call(api, ADMIN, "PUT", "/v2.0/quotas/demo-p", {"quota": {"port": 77}})
    api.handle(DEMO, Request("PUT", f"/v2.0/networks/{net['id']}/tags/blue"))
    # resources added after the journal was written persist with no code of their own
    _call(api, DEMO, "POST", "/v2.0/rbac-policies", {"rbac_policy": {
        "object_type": "network", "object_id": net["id"], "action": "access_as_shared",
        "target_tenant": "0c7b2a8e-5f1d-4b9a-9e3c-2d6f8a1b4c7e"}})
    pool = _call(api, ADMIN, "POST", "/v2.0/subnetpools", {"subnetpool": {
        "name": "pool", "prefixes": ["10.128.0.0/16"], "default_prefixlen": 24, "shared": True}})["subnetpool"]
    pooled = _call(api, DEMO, "POST", "/v2.0/networks", {"network": {"name": "pooled"}})["network"]
    _call(api, DEMO, "POST", "/v2.0/subnets", {"subnet": {"network_id": pooled["id"], "ip_version": 4,
                                                          "subnetpool_id": pool["id"]}})
    scope = _call(api, ADMIN, "POST", "/v2.0/address-scopes", {"address_scope": {
        "name": "scope", "ip_version": 4, "shared": True}})["address_scope"]
    _call(api, ADMIN, "PUT", f"/v2.0/subnetpools/{pool['id']}", {"subnetpool": {"address_scope_id": scope["id"]}})
    template = _call(api, ADMIN, "GET", "/v2.0/default-security-group-rules")["default_security_group_rules"]
    api.handle(ADMIN, Request("DELETE", f"/v2.0/default-security-group-rules/{template[0]['id']}"))
    agent = _call(api, ADMIN, "GET", "/v2.0/agents")["agents"][0]
    _call(api, ADMIN, "PUT", f"/v2.0/agents/{agent['id']}", {"agent": {"description": "rack 7"}})
    return {"net": net, "sub": sub, "port": port, "sg": sg}


def _tables(plane: ControlPlane) -> dict:
    return {t: dict(plane.store.table(t)) for t in plane.store.tables()}


def _rows(log_dir) -> int:
    with sqlite3.connect(log_dir / DB_FILE) as db:
        return db.execute("SELECT count(*) FROM records WHERE space='control'").fetchone()[0]


def test_restart_restores_every_record_its_id_revision_and_the_store_revision(durable, tmp_path):
    plane, api, log = durable
    made = _build(api)
    log.close()
    with StateLog(tmp_path / "state") as again:
        restored = _plane()
        state.attach(restored, again)
        assert _tables(restored) == _tables(plane)
        assert restored.revision == plane.revision
        api2 = NeutronAPI(restored)
        # the indexes are rebuilt: filters, IPAM and quotas work on the restored records
        listed = api2.handle(DEMO, Request("GET", "/v2.0/ports", query=[("network_id", made["net"]["id"])]))
        assert made["port"]["id"] in {p["id"] for p in listed.body["ports"]}
        taken = made["port"]["fixed_ips"][0]["ip_address"]
        with pytest.raises(errors.IpAddressAlreadyAllocated):
            _call(api2, DEMO, "POST", "/v2.0/ports", {"port": {"network_id": made["net"]["id"], "fixed_ips": [
                {"subnet_id": made["sub"]["id"], "ip_address": taken}]}})
        newer = _call(api2, DEMO, "POST", "/v2.0/networks", {"network": {}})["network"]
        assert restored.revision == plane.revision + 1
        assert newer["revision_number"] == 1


def test_a_refused_bulk_create_writes_nothing(durable, tmp_path):
    plane, api, log = durable
    made = _build(api)
    rows = _rows(tmp_path / "state")
    bad = {"ports": [{"network_id": made["net"]["id"]} for _ in range(5)]
           + [{"network_id": made["net"]["id"], "fixed_ips": [{"ip_address": "192.0.2.1"}]}]}
    with pytest.raises(errors.InvalidIpForNetwork):
        _call(api, DEMO, "POST", "/v2.0/ports", bad)
    assert _rows(tmp_path / "state") == rows
    assert state.load_plane(tmp_path / "state").revision == plane.revision


def test_an_inner_transaction_rolled_back_inside_a_committed_one_is_not_persisted(durable, tmp_path):
    plane, api, log = durable
    store = plane.store
    with store.transaction():
        store.put("networks", {"id": "kept", "project_id": "p"})
        try:
            with store.transaction():
                store.put("networks", {"id": "rolled-back", "project_id": "p"})
                store.delete("networks", "kept")
                raise RuntimeError("inner failure")
        except RuntimeError:
            pass
    loaded = state.load_plane(tmp_path / "state")
    assert set(loaded.store.table("networks")) == {"kept"}
    assert loaded.revision == plane.revision


def test_a_journal_that_fails_rolls_memory_back(durable):
    plane, api, log = durable
    before = _tables(plane), plane.revision

    class Broken:
        def commit(self, changes, revision):
            raise OSError("disk full")

    plane.store.attach_journal(Broken())
    with pytest.raises(OSError):
        _call(api, DEMO, "POST", "/v2.0/networks", {"network": {"name": "lost"}})
    assert (_tables(plane), plane.revision) == before  # nothing acknowledged, nothing visible


def test_forks_never_reach_the_state_directory(durable, tmp_path):
    plane, api, log = durable
    _build(api)
    rows = _rows(tmp_path / "state")
    fork = plane.fork()
    _call(NeutronAPI(fork), DEMO, "POST", "/v2.0/networks", {"network": {"name": "what-if"}})
    assert _rows(tmp_path / "state") == rows


def test_a_lone_write_outside_a_transaction_is_journaled(durable, tmp_path):
    plane, _, _ = durable
    plane.store.put("networks", {"id": "lone", "project_id": "p"})
    assert "lone" in state.load_plane(tmp_path / "state").store.table("networks")
    plane.store.delete("networks", "lone")
    assert "lone" not in state.load_plane(tmp_path / "state").store.table("networks")


def test_a_lone_write_from_another_thread_waits_for_the_open_transaction(durable, tmp_path):
    store = durable[0].store
    started = threading.Event()

    def other_thread():
        started.set()
        store.put("networks", {"id": "theirs", "project_id": "p"})

    thread = threading.Thread(target=other_thread)
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.put("networks", {"id": "mine", "project_id": "p"})
            thread.start()
            started.wait()
            time.sleep(0.05)  # give the other thread every chance to slip in (it must not)
            raise RuntimeError("rolled back")
    thread.join()
    assert set(store.table("networks")) == {"theirs"}
    assert set(state.load_plane(tmp_path / "state").store.table("networks")) == {"theirs"}


def test_any_collection_persists_without_code_of_its_own(tmp_path):
    store = Store({"address_groups": ("project_id",)})
    with StateLog(tmp_path / "s") as log:
        store.attach_journal(state.PlaneJournal(log))
        with store.transaction():
            store.put("address_groups", {"id": "ag", "project_id": "p", "addresses": ["10.0.0.0/8"]})
    fresh = Store({"address_groups": ("project_id",)})
    with StateLog(tmp_path / "s", readonly=True) as log:
        assert state.restore_store(fresh, log) == 1
    assert dict(fresh.table("address_groups")) == dict(store.table("address_groups"))
    assert list(fresh.ids_where("address_groups", "project_id", "p")) == ["ag"]


def test_a_collection_this_version_does_not_know_is_refused(tmp_path):
    with StateLog(tmp_path / "s") as log:
        log.write("control", {("gadgets", "g1"): b'{"id": "g1"}'}, {"revision": 1})
    with pytest.raises(StateError, match="gadgets"):
        state.load_plane(tmp_path / "s")


def test_a_second_writer_on_one_directory_is_refused(tmp_path):
    with StateLog(tmp_path / "s"):
        with pytest.raises(StateError, match="in use"):
            StateLog(tmp_path / "s")
    StateLog(tmp_path / "s").close()  # free again once the first closes


def test_load_plane_reads_what_a_live_server_committed_and_never_writes(durable, tmp_path):
    plane, api, log = durable
    _build(api)
    loaded = state.load_plane(tmp_path / "state")
    assert _tables(loaded) == _tables(plane)
    rows = _rows(tmp_path / "state")
    _call(NeutronAPI(loaded), DEMO, "POST", "/v2.0/networks", {"network": {"name": "only in memory"}})
    assert _rows(tmp_path / "state") == rows
    with pytest.raises(StateError):
        state.load_plane(tmp_path / "nowhere")


OPS = st.lists(st.tuples(st.sampled_from(["net", "port", "bad-port", "sg", "rule", "delete", "update"]),
                         st.integers(0, 1000)), max_size=25)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_after_any_sequence_of_writes_and_refusals_disk_equals_memory(tmp_path_factory, ops):
    directory = tmp_path_factory.mktemp("s")
    log = StateLog(directory)
    plane = _plane()
    state.attach(plane, log)
    api = NeutronAPI(plane)
    made: list[tuple[str, str]] = []
    net = _call(api, DEMO, "POST", "/v2.0/networks", {"network": {}})["network"]
    _call(api, DEMO, "POST", "/v2.0/subnets", {"subnet": {"network_id": net["id"], "ip_version": 4,
                                                          "cidr": "10.0.0.0/28"}})
    for op, n in ops:
        try:
            if op == "net":
                made.append(("networks", _call(api, DEMO, "POST", "/v2.0/networks", {"network": {}})["network"]["id"]))
            elif op == "port":
                made.append(("ports", _call(api, DEMO, "POST", "/v2.0/ports", {"port": {"network_id": net["id"]}})["port"]["id"]))
            elif op == "bad-port":
                _call(api, DEMO, "POST", "/v2.0/ports", {"ports": [{"network_id": net["id"]},
                                                                   {"network_id": "missing"}]})
            elif op == "sg":
                made.append(("security-groups", _call(api, DEMO, "POST", "/v2.0/security-groups",
                                                      {"security_group": {"name": f"g{n}"}})["security_group"]["id"]))
            elif op == "rule" and made:
                groups = [rid for kind, rid in made if kind == "security-groups"]
                if groups:
                    _call(api, DEMO, "POST", "/v2.0/security-group-rules", {"security_group_rule": {
                        "security_group_id": groups[n % len(groups)], "direction": "ingress",
                        "protocol": "tcp", "port_range_min": n, "port_range_max": n}})
            elif op == "delete" and made:
                kind, rid = made.pop(n % len(made))
                api.handle(DEMO, Request("DELETE", f"/v2.0/{kind}/{rid}"))
            elif op == "update" and made:
                kind, rid = made[n % len(made)]
                key = {"networks": "network", "ports": "port", "security-groups": "security_group"}[kind]
                api.handle(DEMO, Request("PUT", f"/v2.0/{kind}/{rid}", body={key: {"name": f"u{n}"}}))
        except errors.NeutronException:
            pass  # refused (full subnet, over quota, ...): must leave no trace on disk either
    log.close()
    loaded = state.load_plane(directory)
    assert _tables(loaded) == _tables(plane)
    assert loaded.revision == plane.revision


def test_the_state_directory_and_database_are_private(tmp_path):
    with StateLog(tmp_path / "s") as log:
        log.write("control", {("networks", "n"): b'{"id": "n"}'}, {"revision": 1})
        assert (tmp_path / "s").stat().st_mode & 0o777 == 0o700
        for name in (DB_FILE, DB_FILE + "-wal"):
            assert (tmp_path / "s" / name).stat().st_mode & 0o077 == 0, name
