"""Floating-IP port forwarding (``/v2.0/floatingips/{id}/port_forwardings``): Neutron's fields,
validation, conflicts with association, router choice, parent policy and clean-up."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_router_support import (  # noqa: F401  (fixtures)
    add_interface,
    build_topology,
    error,
    make_network,
    make_port,
    ok,
    topo,
    wired,
)

from xloudnet.control.neutron import NeutronAPI, Request
from xloudnet.control.plane import ControlPlane

PF_KEYS = {"id", "external_port", "internal_port", "internal_ip_address", "protocol", "internal_port_id",
           "description", "external_port_range", "internal_port_range"}


def _fip(call, ctx, net_id, **extra):
    body = {"floatingip": dict({"floating_network_id": net_id}, **extra)}
    return ok(call(ctx, "POST", "/v2.0/floatingips", body), 201)["floatingip"]


def _pf_body(port, **extra):
    body = {"internal_port_id": port["id"], "internal_ip_address": port["fixed_ips"][0]["ip_address"],
            "protocol": "tcp", "internal_port": 22, "external_port": 2222}
    body.update(extra)
    return {"port_forwarding": {k: v for k, v in body.items() if v is not None}}


def _create(call, ctx, fip_id, port, **extra):
    return call(ctx, "POST", f"/v2.0/floatingips/{fip_id}/port_forwardings", _pf_body(port, **extra))


def _setup(call, demo, wired):
    port = make_port(call, demo, wired.net["id"])
    fip = _fip(call, demo, wired.ext_net["id"])
    return port, fip


def _show_fip(call, ctx, fip_id):
    return ok(call(ctx, "GET", f"/v2.0/floatingips/{fip_id}"))["floatingip"]


# --- create and show ------------------------------------------------------------------------------
def test_created_forwarding_has_neutrons_fields_and_ranges_of_one_port(call, demo, wired):
    port, fip = _setup(call, demo, wired)
    pf = ok(_create(call, demo, fip["id"], port, description="ssh"), 201)["port_forwarding"]
    assert set(pf) == PF_KEYS
    assert (pf["external_port"], pf["internal_port"]) == (2222, 22)
    assert (pf["external_port_range"], pf["internal_port_range"]) == ("2222:2222", "22:22")
    assert pf["description"] == "ssh" and pf["protocol"] == "tcp"
    shown = ok(call(demo, "GET", f"/v2.0/floatingips/{fip['id']}/port_forwardings/{pf['id']}"))["port_forwarding"]
    assert shown == pf


def test_first_forwarding_gives_the_floating_ip_its_router_and_the_last_takes_it_back(call, demo, wired):
    port, fip = _setup(call, demo, wired)
    pf = ok(_create(call, demo, fip["id"], port), 201)["port_forwarding"]
    held = _show_fip(call, demo, fip["id"])
    assert (held["router_id"], held["status"], held["port_id"]) == (wired.router["id"], "ACTIVE", None)
    assert held["port_forwardings"] == [{k: pf[k] for k in (
        "id", "internal_ip_address", "protocol", "internal_port", "external_port", "internal_port_id")}]
    ok(call(demo, "DELETE", f"/v2.0/floatingips/{fip['id']}/port_forwardings/{pf['id']}"), 204)
    freed = _show_fip(call, demo, fip["id"])
    assert (freed["router_id"], freed["status"], freed["port_forwardings"]) == (None, "DOWN", [])


def test_port_ranges_map_n_to_n_and_n_to_one(call, demo, wired):
    port, fip = _setup(call, demo, wired)
    nn = ok(_create(call, demo, fip["id"], port, internal_port=None, external_port=None,
                    external_port_range="9000:9009", internal_port_range="8000:8009"), 201)["port_forwarding"]
    assert (nn["external_port"], nn["internal_port"]) == (None, None)
    n1 = ok(_create(call, demo, fip["id"], port, internal_port=80, external_port=None,
                    external_port_range="3000:3100"), 201)["port_forwarding"]
    assert (n1["internal_port_range"], n1["external_port_range"]) == ("80:80", "3000:3100")


def test_internal_range_wider_than_one_must_match_the_external_width(call, demo, wired):
    port, fip = _setup(call, demo, wired)
    message = error(_create(call, demo, fip["id"], port, internal_port=None, external_port=None,
                            external_port_range="9000:9009", internal_port_range="8000:8002"), 400, "BadRequest")
    assert "must be N-N or 1-N" in message


def test_ports_out_of_range_are_400_on_create_and_update(call, demo, wired):
    port, fip = _setup(call, demo, wired)
    error(_create(call, demo, fip["id"], port, external_port=333333), 400, "HTTPBadRequest")
    error(_create(call, demo, fip["id"], port, internal_port=0), 400, "HTTPBadRequest")
    error(_create(call, demo, fip["id"], port, external_port=None, external_port_range="5:3"), 400, "HTTPBadRequest")
    pf = ok(_create(call, demo, fip["id"], port), 201)["port_forwarding"]
    path = f"/v2.0/floatingips/{fip['id']}/port_forwardings/{pf['id']}"
    message = error(call(demo, "PUT", path, {"port_forwarding": {"external_port": 108343}}), 400, "HTTPBadRequest")
    assert message == "Invalid input for external_port. Reason: '108343' is too large - must be no larger than '65535'."


def test_protocol_must_be_one_neutron_forwards(call, demo, wired):
    port, fip = _setup(call, demo, wired)
    error(_create(call, demo, fip["id"], port, protocol="gre"), 400, "HTTPBadRequest")
    error(_create(call, demo, fip["id"], port, protocol=None), 400, "HTTPBadRequest")


# --- conflicts ------------------------------------------------------------------------------------
def test_same_floating_ip_protocol_and_external_port_collides(call, demo, wired):
    port, fip = _setup(call, demo, wired)
    other = make_port(call, demo, wired.net["id"])
    ok(_create(call, demo, fip["id"], port), 201)
    message = error(_create(call, demo, fip["id"], other, internal_port=3333), 400, "BadRequest")
    assert "port collision with the external_port_range" in message
    ok(_create(call, demo, fip["id"], other, internal_port=3333, protocol="udp"), 201)  # another protocol


def test_same_internal_socket_twice_collides(call, demo, wired):
    port, fip = _setup(call, demo, wired)
    ok(_create(call, demo, fip["id"], port), 201)
    message = error(_create(call, demo, fip["id"], port, external_port=5555), 400, "BadRequest")
    assert "port collision with the internal_port_range" in message


def test_forwarding_on_an_associated_floating_ip_is_409(call, demo, wired):
    port, _ = _setup(call, demo, wired)
    vm = make_port(call, demo, wired.net["id"])
    used = _fip(call, demo, wired.ext_net["id"], port_id=vm["id"])
    error(_create(call, demo, used["id"], port), 409, "FloatingIPPortAlreadyAssociated")


def test_forwarding_to_a_port_with_its_own_floating_ip_is_409(call, demo, wired):
    port, fip = _setup(call, demo, wired)
    _fip(call, demo, wired.ext_net["id"], port_id=port["id"])
    error(_create(call, demo, fip["id"], port), 409, "PortHasBindingFloatingIP")


def test_floating_ip_with_forwardings_cannot_be_associated_or_deleted(call, demo, wired):
    port, fip = _setup(call, demo, wired)
    vm = make_port(call, demo, wired.net["id"])
    ok(_create(call, demo, fip["id"], port), 201)
    error(call(demo, "PUT", f"/v2.0/floatingips/{fip['id']}", {"floatingip": {"port_id": vm["id"]}}),
          409, "FipInUseByPortForwarding")
    error(call(demo, "DELETE", f"/v2.0/floatingips/{fip['id']}"), 409, "FipInUseByPortForwarding")
    blank = ok(call(demo, "PUT", f"/v2.0/floatingips/{fip['id']}", {"floatingip": {}}))["floatingip"]
    assert blank["router_id"] == wired.router["id"]  # nothing to disassociate: forwardings keep it


def test_internal_address_must_be_the_ports(call, demo, wired):
    port, fip = _setup(call, demo, wired)
    message = error(_create(call, demo, fip["id"], port, internal_ip_address="10.0.0.250"), 400, "BadRequest")
    assert "is not suitable for internal neutron port" in message


def test_internal_port_must_sit_behind_a_router_on_the_floating_network(call, admin, demo, topo):
    port, fip = _setup(call, demo, topo)  # the subnet is not attached to the router
    message = error(_create(call, demo, fip["id"], port), 400, "BadRequest")
    assert message.startswith(f"Bad port_forwarding request: External network {topo.ext_net['id']} is not reachable")


def test_forwardings_of_one_floating_ip_stay_on_one_router(call, admin, demo, wired):
    port, fip = _setup(call, demo, wired)
    ok(_create(call, demo, fip["id"], port), 201)
    net2, sub2 = make_network(call, demo, "second", "10.0.5.0/24")
    router2 = ok(call(demo, "POST", "/v2.0/routers", {"router": {
        "name": "r2", "external_gateway_info": {"network_id": wired.ext_net["id"]}}}), 201)["router"]
    ok(add_interface(call, demo, router2["id"], subnet_id=sub2["id"]))
    far = make_port(call, demo, net2["id"])
    message = error(_create(call, demo, fip["id"], far, external_port=80, internal_port=80), 400, "BadRequest")
    assert "can not reach it" in message


# --- update ---------------------------------------------------------------------------------------
def test_update_changes_the_internal_port_and_keeps_the_rest(call, demo, wired):
    port, fip = _setup(call, demo, wired)
    pf = ok(_create(call, demo, fip["id"], port), 201)["port_forwarding"]
    path = f"/v2.0/floatingips/{fip['id']}/port_forwardings/{pf['id']}"
    new = ok(call(demo, "PUT", path, {"port_forwarding": {"internal_port": 3333}}))["port_forwarding"]
    assert (new["internal_port"], new["internal_port_range"], new["external_port"]) == (3333, "3333:3333", 2222)


def test_update_onto_another_forwardings_external_port_is_400(call, demo, wired):
    port, fip = _setup(call, demo, wired)
    ok(_create(call, demo, fip["id"], port), 201)
    pf = ok(_create(call, demo, fip["id"], port, external_port=3000, internal_port=80), 201)["port_forwarding"]
    path = f"/v2.0/floatingips/{fip['id']}/port_forwardings/{pf['id']}"
    error(call(demo, "PUT", path, {"port_forwarding": {"external_port": 2222}}), 400, "BadRequest")


# --- lists ----------------------------------------------------------------------------------------
def test_list_filters_sorts_and_refuses_neutrons_unfilterable_fields(call, demo, wired):
    port, fip = _setup(call, demo, wired)
    base = f"/v2.0/floatingips/{fip['id']}/port_forwardings"
    for ext, inner in ((3000, 30), (2000, 20), (1000, 10)):
        ok(_create(call, demo, fip["id"], port, external_port=ext, internal_port=inner), 201)
    listed = ok(call(demo, "GET", base, query=[("sort_key", "external_port"), ("sort_dir", "asc")]))
    assert [p["external_port"] for p in listed["port_forwardings"]] == [1000, 2000, 3000]
    assert len(ok(call(demo, "GET", base, query=[("external_port", "2000")]))["port_forwardings"]) == 1
    message = error(call(demo, "GET", base, query=[("internal_port", "20")]), 400,
                    "PortForwardingNotSupportFilterField")
    assert message == "Port Forwarding filter internal_port is not supported."
    page = ok(call(demo, "GET", base, query=[("limit", "2")]))
    assert len(page["port_forwardings"]) == 2 and "port_forwardings_links" in page


# --- policy and not found -------------------------------------------------------------------------
def test_another_project_sees_no_floating_ip_and_a_reader_may_not_write(call, demo, alt, reader, wired):
    port, fip = _setup(call, demo, wired)
    pf = ok(_create(call, demo, fip["id"], port), 201)["port_forwarding"]
    base = f"/v2.0/floatingips/{fip['id']}/port_forwardings"
    error(call(alt, "GET", base), 404, "FloatingIPNotFound")
    error(call(alt, "DELETE", f"{base}/{pf['id']}"), 404, "FloatingIPNotFound")
    error(_create(call, reader, fip["id"], port, external_port=1), 403, "PolicyNotAuthorized")
    assert ok(call(reader, "GET", f"{base}/{pf['id']}"))["port_forwarding"]["id"] == pf["id"]


def test_unknown_forwarding_or_one_of_another_floating_ip_is_404(call, demo, wired):
    port, fip = _setup(call, demo, wired)
    other = _fip(call, demo, wired.ext_net["id"])
    pf = ok(_create(call, demo, fip["id"], port), 201)["port_forwarding"]
    message = error(call(demo, "GET", f"/v2.0/floatingips/{other['id']}/port_forwardings/{pf['id']}"), 404,
                    "PortForwardingNotFound")
    assert message == f"Port Forwarding {pf['id']} could not be found."


# --- clean-up with the internal port --------------------------------------------------------------
def test_deleting_the_internal_port_deletes_its_forwardings(call, demo, wired):
    port, fip = _setup(call, demo, wired)
    ok(_create(call, demo, fip["id"], port), 201)
    ok(call(demo, "DELETE", f"/v2.0/ports/{port['id']}"), 204)
    assert ok(call(demo, "GET", f"/v2.0/floatingips/{fip['id']}/port_forwardings"))["port_forwardings"] == []
    assert _show_fip(call, demo, fip["id"])["router_id"] is None


def test_taking_the_forwarded_address_off_the_port_deletes_the_forwarding(call, demo, wired):
    port, fip = _setup(call, demo, wired)
    port = ok(call(demo, "PUT", f"/v2.0/ports/{port['id']}", {"port": {
        "fixed_ips": port["fixed_ips"] + [{"subnet_id": wired.sub["id"]}]}}))["port"]
    first, second = (ip["ip_address"] for ip in port["fixed_ips"])
    ok(_create(call, demo, fip["id"], port, internal_ip_address=first), 201)
    kept = ok(_create(call, demo, fip["id"], port, internal_ip_address=second, external_port=2223), 201)
    ok(call(demo, "PUT", f"/v2.0/ports/{port['id']}", {"port": {"fixed_ips": [port["fixed_ips"][1]]}}))
    left = ok(call(demo, "GET", f"/v2.0/floatingips/{fip['id']}/port_forwardings"))["port_forwardings"]
    assert [p["id"] for p in left] == [kept["port_forwarding"]["id"]]


# --- invariant --------------------------------------------------------------------------------------
SPANS = st.tuples(st.integers(1, 60), st.integers(0, 8)).map(lambda s: (s[0], s[0] + s[1]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(SPANS, st.sampled_from(("tcp", "udp")), st.booleans()), min_size=1, max_size=12),
       st.lists(st.tuples(st.integers(0, 11), SPANS, st.sampled_from(("tcp", "udp")), st.booleans()), max_size=6))
def test_stored_external_ranges_never_overlap_per_protocol(admin, demo, requests, updates):
    """Whatever is asked (creates, then updates of ranges and protocols), the forwardings a
    floating IP keeps have disjoint external ranges per protocol, and every internal range is one
    port or as wide as its external range."""
    plane = ControlPlane()
    api = NeutronAPI(plane)

    def call(ctx, method, path, body=None, query=None):
        from xloudnet.control import errors
        try:
            response = api.handle(ctx, Request(method, path, query=list(query or []), body=body))
        except errors.NeutronException as exc:
            return exc.status, {"NeutronError": {"type": exc.type, "message": str(exc)}}
        return response.status, response.body

    t = build_topology(call, admin, demo)
    ok(add_interface(call, demo, t.router["id"], subnet_id=t.sub["id"]))
    port = make_port(call, demo, t.net["id"])
    fip = _fip(call, demo, t.ext_net["id"])
    for n, ((first, last), protocol, single) in enumerate(requests):
        inner = f"{1000 + n * 20}" if single else f"{1000 + n * 20}:{1000 + n * 20 + last - first}"
        status, _ = _create(call, demo, fip["id"], port, protocol=protocol, external_port=None, internal_port=None,
                            external_port_range=f"{first}:{last}", internal_port_range=inner)
        assert status in (201, 400)
    made = plane.port_forwardings.of_floatingip(fip["id"])
    for n, (first, last), protocol, ranged in updates:
        if made:
            pf = made[n % len(made)]
            body = {"protocol": protocol, **({"external_port_range": f"{first}:{last}"} if ranged else {})}
            status, _ = call(demo, "PUT", f"/v2.0/floatingips/{fip['id']}/port_forwardings/{pf['id']}",
                             {"port_forwarding": body})
            assert status in (200, 400)
    kept = plane.port_forwardings.of_floatingip(fip["id"])
    for a in kept:
        (a0, a1), (i0, i1) = (tuple(map(int, a[k].split(":"))) for k in ("external_port_range", "internal_port_range"))
        assert i0 == i1 or i1 - i0 == a1 - a0
        for b in kept:
            if a["id"] < b["id"] and a["protocol"] == b["protocol"]:
                b0, b1 = map(int, b["external_port_range"].split(":"))
                assert max(a0, b0) > min(a1, b1), (a, b)
