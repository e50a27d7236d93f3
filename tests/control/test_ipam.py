"""IPAM: pool arithmetic, EUI-64, and the allocation invariants (never twice, never outside the
pools) under random sequences of port and pool operations; rollback, forks and scale."""

from __future__ import annotations

import ipaddress
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xloudnet.control import errors, ipam
from xloudnet.control.context import Context
from xloudnet.control.plane import ControlPlane

ADMIN = Context.admin("admin-project")


def _net(plane: ControlPlane, cidr: str, version: int = 4, **extra) -> tuple[str, dict]:
    network = plane.networks.create(ADMIN, {"name": "n"})
    subnet = plane.subnets.create(ADMIN, {"network_id": network["id"], "ip_version": version, "cidr": cidr, **extra})
    return network["id"], subnet


# --- pure functions ----------------------------------------------------------------------------
def test_default_pools_exclude_network_broadcast_and_gateway():
    net = ipaddress.ip_network("10.0.0.0/24")
    assert ipam.generate_pools(net, "10.0.0.1") == [{"start": "10.0.0.2", "end": "10.0.0.254"}]
    assert ipam.generate_pools(net, "10.0.0.254") == [{"start": "10.0.0.1", "end": "10.0.0.253"}]
    assert ipam.generate_pools(net, None) == [{"start": "10.0.0.1", "end": "10.0.0.254"}]
    assert ipam.generate_pools(ipaddress.ip_network("10.0.0.8/32"), None) == [{"start": "10.0.0.8", "end": "10.0.0.8"}]


def test_ipv6_pools_run_to_the_last_address():
    net = ipaddress.ip_network("2001:db8::/120")
    assert ipam.generate_pools(net, "2001:db8::") == [{"start": "2001:db8::1", "end": "2001:db8::ff"}]


def test_eui64_follows_rfc4291():
    net = ipaddress.ip_network("2001:db8::/64")
    assert ipam.eui64_address(net, "fa:16:3e:3e:e0:a4") == "2001:db8::f816:3eff:fe3e:e0a4"
    assert ipam.eui64_address(net, "00:00:5e:00:53:01") == "2001:db8::200:5eff:fe00:5301"


def test_specific_address_validity():
    v4, v6 = ipaddress.ip_network("10.0.0.0/24"), ipaddress.ip_network("2001:db8::/64")
    assert ipam.ip_in_subnet(v4, "10.0.0.1") and not ipam.ip_in_subnet(v4, "10.0.0.0")
    assert not ipam.ip_in_subnet(v4, "10.0.0.255") and not ipam.ip_in_subnet(v4, "10.0.1.1")
    assert ipam.ip_in_subnet(v6, "2001:db8::", "network:router_interface")
    assert not ipam.ip_in_subnet(v6, "2001:db8::", "compute:nova")


@given(st.lists(st.tuples(st.integers(1, 254), st.integers(0, 30)), min_size=1, max_size=4))
def test_check_pools_accepts_exactly_disjoint_in_bounds_ranges(spans):
    net = ipaddress.ip_network("10.0.0.0/24")
    pools = [{"start": f"10.0.0.{a}", "end": f"10.0.0.{min(a + n, 254)}"} for a, n in spans]
    ranges = [(int(ipaddress.ip_address(p["start"])), int(ipaddress.ip_address(p["end"]))) for p in pools]
    overlap = any(a[0] <= b[1] and b[0] <= a[1] for i, a in enumerate(ranges) for b in ranges[i + 1:])
    if overlap:
        with pytest.raises(errors.OverlappingAllocationPools):
            ipam.check_pools(pools, net, "10.0.0.0/24")
    else:
        assert ipam.check_pools(pools, net, "10.0.0.0/24") == ranges


# --- allocation invariants ---------------------------------------------------------------------
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(0, 0)),
        st.tuples(st.just("create_ip"), st.integers(1, 30)),
        st.tuples(st.just("delete"), st.integers(0, 50)),
        st.tuples(st.just("update"), st.integers(0, 50)),
        st.tuples(st.just("pools"), st.integers(0, 3)),
        st.tuples(st.just("bulk_fail"), st.integers(1, 30)),
    ),
    max_size=60,
)
POOL_CHOICES = (
    [{"start": "10.0.0.2", "end": "10.0.0.30"}],
    [{"start": "10.0.0.5", "end": "10.0.0.9"}, {"start": "10.0.0.20", "end": "10.0.0.24"}],
    [{"start": "10.0.0.2", "end": "10.0.0.3"}],
    [{"start": "10.0.0.10", "end": "10.0.0.30"}],
)


def _in_pools(ip: str, pools: list[dict]) -> bool:
    value = int(ipaddress.ip_address(ip))
    return any(int(ipaddress.ip_address(p["start"])) <= value <= int(ipaddress.ip_address(p["end"])) for p in pools)


def _assert_unique(plane: ControlPlane) -> None:
    held = [(ip["subnet_id"], ip["ip_address"]) for p in plane.store.table("ports").values() for ip in p["fixed_ips"]]
    assert len(held) == len(set(held))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPS)
def test_ipam_never_hands_out_an_address_twice_nor_outside_its_pools(ops):
    plane = ControlPlane()
    net, subnet = _net(plane, "10.0.0.0/27")
    sid = subnet["id"]
    ports: list[str] = []
    for op, arg in ops:
        pools = plane.store.get("subnets", sid)["allocation_pools"]
        try:
            if op == "create":
                port = plane.ports.create(ADMIN, {"network_id": net})
                assert _in_pools(port["fixed_ips"][0]["ip_address"], pools)
                ports.append(port["id"])
            elif op == "create_ip":
                port = plane.ports.create(ADMIN, {"network_id": net, "fixed_ips": [{"ip_address": f"10.0.0.{arg}"}]})
                ports.append(port["id"])
            elif op == "delete" and ports:
                plane.ports.delete(ADMIN, ports.pop(arg % len(ports)))
            elif op == "update" and ports:
                port = plane.ports.update(ADMIN, ports[arg % len(ports)], {"fixed_ips": [{"subnet_id": sid}]})
                assert len(port["fixed_ips"]) == 1
            elif op == "pools":
                plane.subnets.update(ADMIN, sid, {"allocation_pools": POOL_CHOICES[arg]})
            elif op == "bulk_fail":
                with pytest.raises(errors.IpAddressAlreadyAllocated), plane.store.transaction():
                    plane.ports.create(ADMIN, {"network_id": net})
                    for _ in range(2):
                        plane.ports.create(ADMIN, {"network_id": net, "fixed_ips": [{"ip_address": f"10.0.0.{arg}"}]})
        except errors.IpAddressGenerationFailure:
            held = {ip["ip_address"] for p in plane.ports.ports_on_subnet(sid) for ip in p["fixed_ips"]}
            everything = {ipam.to_text(4, v) for lo, hi in ipam.pool_ranges(plane.store.get("subnets", sid))
                          for v in range(lo, hi + 1)}
            assert everything <= held  # exhaustion is only ever reported when the pools are full
        except errors.IpAddressAlreadyAllocated:
            pass
        _assert_unique(plane)


def test_rollback_and_fork_keep_allocations_consistent():
    plane = ControlPlane()
    net, subnet = _net(plane, "10.0.0.0/29")  # pool .2-.6, .2 held by the DHCP agent's port
    first = plane.ports.create(ADMIN, {"network_id": net})["fixed_ips"][0]["ip_address"]
    with pytest.raises(errors.IpAddressGenerationFailure), plane.store.transaction():
        for _ in range(10):
            plane.ports.create(ADMIN, {"network_id": net})
    fork = plane.fork()
    taken_in_fork = [fork.ports.create(ADMIN, {"network_id": net})["fixed_ips"][0]["ip_address"] for _ in range(3)]
    taken_here = [plane.ports.create(ADMIN, {"network_id": net})["fixed_ips"][0]["ip_address"] for _ in range(3)]
    assert first not in taken_in_fork and first not in taken_here
    assert "10.0.0.2" not in taken_in_fork + taken_here
    assert len(set(taken_in_fork)) == len(set(taken_here)) == 3
    _assert_unique(plane)
    _assert_unique(fork)


def test_network_delete_leaves_no_ipam_state_behind():
    plane = ControlPlane()
    net, subnet = _net(plane, "10.0.0.0/24")  # the DHCP agent's port takes .2
    first = plane.ports.create(ADMIN, {"network_id": net, "device_owner": "network:dhcp"})
    plane.networks.delete(ADMIN, net)
    net2, subnet2 = _net(plane, "10.0.0.0/24")
    port = plane.ports.create(ADMIN, {"network_id": net2, "device_owner": "network:dhcp"})
    assert first["fixed_ips"][0]["ip_address"] == "10.0.0.3"
    assert port["fixed_ips"] == [{"subnet_id": subnet2["id"], "ip_address": "10.0.0.3"}]


def test_allocation_probes_about_one_address_per_port_on_a_big_subnet():
    """Next-fit keeps allocation O(1): creating N ports checks about N addresses, not N²/2."""
    plane = ControlPlane(quotas={"port": -1})
    net, subnet = _net(plane, "10.64.0.0/14")
    probes = 0
    holder = plane.ports.ipam.holder

    def counting(subnet_id, ip):
        nonlocal probes
        probes += 1
        return holder(subnet_id, ip)

    plane.ports.ipam.holder = counting
    count = 3000
    started = time.perf_counter()
    for _ in range(count):
        plane.ports.create(ADMIN, {"network_id": net, "device_owner": "compute:nova"})
    elapsed = time.perf_counter() - started
    assert probes <= count + 10
    assert elapsed < 10  # generous: about 1 ms per create is the budget on a loaded CI core
    fork = plane.fork()  # a fork has no cursor yet: it starts right after the allocated block
    fork.ports.ipam.holder = counting
    probes = 0
    fork.ports.create(ADMIN, {"network_id": net})
    assert probes <= 2


def test_seeded_planes_are_reproducible_and_forks_do_not_replay_macs():
    def build():
        plane = ControlPlane(rng_seed=7, ids=iter(f"00000000-0000-4000-8000-{i:012d}" for i in range(10**6)).__next__)
        net, _ = _net(plane, "10.0.0.0/24")
        return plane, net, [plane.ports.create(ADMIN, {"network_id": net})["mac_address"] for _ in range(20)]

    plane, net, macs = build()
    assert build()[2] == macs
    fork = plane.fork()
    assert [fork.ports.create(ADMIN, {"network_id": net}) for _ in range(20)]
