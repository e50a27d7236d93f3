"""Snapshots and forks taken from other threads never see half of a change."""

import sys
import threading

from xloudnet.control.context import Context
from xloudnet.control.neutron import NeutronAPI, Request


def test_snapshots_from_another_thread_never_see_a_half_applied_bulk_create(plane):
    admin = Context.admin("p")
    api = NeutronAPI(plane)
    plane.quotas.check = lambda *a, **k: None  # this test is about atomicity, not limits
    net = api.handle(admin, Request("POST", "/v2.0/networks", body={"network": {}})).body["network"]
    body = {"subnet": {"network_id": net["id"], "ip_version": 4, "cidr": "10.0.0.0/16"}}
    api.handle(admin, Request("POST", "/v2.0/subnets", body=body))
    good = {"ports": [{"network_id": net["id"]} for _ in range(10)]}
    # nine valid ports, then one asking for an address outside the subnet: all ten roll back
    bad = {"ports": [{"network_id": net["id"]} for _ in range(9)]
           + [{"network_id": net["id"], "fixed_ips": [{"ip_address": "192.0.2.1"}]}]}
    seen, stop = [], threading.Event()

    def reader():
        while not stop.is_set():
            seen.append(len(plane.snapshot().ports))
            seen.append(len(plane.fork().store.table("ports")))

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: make any gap show
    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(15):
            _refused(api, admin, bad)
            api.handle(admin, Request("POST", "/v2.0/ports", body=good))
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(previous)
    assert seen, "the reader never ran"
    # Every count is the DHCP agent's port (made with the subnet) plus whole bulks of ten.
    assert all((count - 1) % 10 == 0 for count in seen), sorted(set(seen))
    assert len(plane.snapshot().ports) == 151


def _refused(api, ctx, body):
    try:
        api.handle(ctx, Request("POST", "/v2.0/ports", body=body))
    except Exception as exc:  # the last item is invalid: the whole bulk is refused
        assert type(exc).__name__ == "InvalidIpForNetwork", exc
    else:
        raise AssertionError("the invalid bulk was accepted")
