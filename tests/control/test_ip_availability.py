"""network-ip-availabilities: admin-only usage figures derived from ports."""


def _network_with_subnet(call, ctx, cidr="10.9.0.0/24"):
    _, body = call(ctx, "POST", "/v2.0/networks", {"network": {"name": "avail"}})
    net = body["network"]
    _, body = call(ctx, "POST", "/v2.0/subnets", {"subnet": {"network_id": net["id"], "ip_version": 4, "cidr": cidr}})
    return net, body["subnet"]


def test_availability_counts_ports_inside_and_outside_pools(call, admin):
    net, subnet = _network_with_subnet(call, admin)
    for _ in range(3):  # with the DHCP agent's port (.2): four addresses of the pool in use
        assert call(admin, "POST", "/v2.0/ports", {"port": {"network_id": net["id"]}})[0] == 201
    # the gateway address lies outside the pool: used in the subnet, not in the pool
    gateway_port = {"network_id": net["id"], "fixed_ips": [{"ip_address": subnet["gateway_ip"]}]}
    assert call(admin, "POST", "/v2.0/ports", {"port": gateway_port})[0] == 201
    status, body = call(admin, "GET", f"/v2.0/network-ip-availabilities/{net['id']}")
    assert status == 200
    avail = body["network_ip_availability"]
    assert avail["used_ips"] == 5 and avail["total_ips"] == 253
    assert avail["ip_availability_details"] == {
        "total_ips_in_subnet": 254,
        "total_ips_in_allocation_pool": 253,
        "used_ips_in_subnet": 5,
        "used_ips_in_allocation_pool": 4,
    }
    assert [s["subnet_id"] for s in avail["subnet_ip_availability"]] == [subnet["id"]]


def test_availability_is_hidden_from_members(call, admin, demo):
    net, _ = _network_with_subnet(call, demo)
    status, body = call(demo, "GET", f"/v2.0/network-ip-availabilities/{net['id']}")
    assert status == 404 and body["NeutronError"]["type"] == "HTTPNotFound"
    assert call(demo, "GET", "/v2.0/network-ip-availabilities") == (200, {"network_ip_availabilities": []})
    assert call(admin, "GET", f"/v2.0/network-ip-availabilities/{net['id']}")[0] == 200


def test_availability_list_filters_by_network_and_ip_version(call, admin):
    first, _ = _network_with_subnet(call, admin, "10.9.1.0/24")
    second, _ = _network_with_subnet(call, admin, "10.9.2.0/24")
    status, body = call(admin, "GET", "/v2.0/network-ip-availabilities", query=[("network_id", second["id"])])
    assert status == 200 and [a["network_id"] for a in body["network_ip_availabilities"]] == [second["id"]]
    status, body = call(admin, "GET", "/v2.0/network-ip-availabilities", query=[("ip_version", "6")])
    assert status == 200 and all(a["subnet_ip_availability"] == [] for a in body["network_ip_availabilities"])
    status, body = call(admin, "GET", "/v2.0/network-ip-availabilities", query=[("bogus", "1")])
    assert status == 400
