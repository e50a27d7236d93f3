"""Address groups (address-group, security-groups-remote-address-group, rbac-address-group)."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings, strategies as st

from xloudnet.control.context import Context
from xloudnet.control.neutron import NeutronAPI, Request
from xloudnet.control.plane import ControlPlane
from xloudnet.control import errors

AGS = "/v2.0/address-groups"
SGS = "/v2.0/security-groups"
RULES = "/v2.0/security-group-rules"
RBAC = "/v2.0/rbac-policies"


def _uuid_ctx(n: int) -> Context:
    project = "0" * 31 + str(n)
    return Context(project_id=project, user_id=f"{project}-user", roles=frozenset({"member", "reader"}))


def _error(body):
    return body["NeutronError"]["type"]


def _ag(call, ctx, **attrs):
    status, body = call(ctx, "POST", AGS, {"address_group": {"name": "ag", **attrs}})
    assert status == 201, body
    return body["address_group"]


def _group(call, ctx, name="web"):
    status, body = call(ctx, "POST", SGS, {"security_group": {"name": name}})
    assert status == 201, body
    return body["security_group"]


def _rule(call, ctx, sg_id, **attrs):
    body = {"security_group_id": sg_id, "direction": "ingress", "protocol": "tcp", **attrs}
    return call(ctx, "POST", RULES, {"security_group_rule": body})


# --- the resource ----------------------------------------------------------------------------------
def test_create_normalises_addresses_and_shows_standard_attributes(call, demo):
    ag = _ag(call, demo, description="d", addresses=["10.10.10.3/32", "192.168.0.10/24", "2001:db8::f00/64"])
    assert ag["addresses"] == ["10.10.10.3/32", "192.168.0.0/24", "2001:db8::/64"]
    assert ag["project_id"] == ag["tenant_id"] == "demo-project"
    assert (ag["name"], ag["description"], ag["revision_number"]) == ("ag", "d", 1)
    assert {"created_at", "updated_at"} <= set(ag)
    assert "shared" not in ag and "tags" not in ag


def test_addresses_default_to_empty_and_null_means_empty(call, demo):
    assert _ag(call, demo)["addresses"] == []
    assert _ag(call, demo, addresses=None)["addresses"] == []


def test_addresses_that_normalise_to_one_are_stored_once(call, demo):
    assert _ag(call, demo, addresses=["10.0.0.1/24", "10.0.0.2/24"])["addresses"] == ["10.0.0.0/24"]


def test_bad_addresses_on_create_are_400_and_create_nothing(call, demo):
    for bad in (["10.20.30.40"], ["this is bad IP address"], "10.0.0.0/8", ["10.0.0.0/8", "10.0.0.0/8"],
                [" 10.0.0.0/8"], [5]):
        status, body = call(demo, "POST", AGS, {"address_group": {"addresses": bad}})
        assert (status, _error(body)) == (400, "HTTPBadRequest"), bad
    assert call(demo, "GET", AGS)[1]["address_groups"] == []


def test_addresses_are_not_updatable_but_name_and_description_are(call, demo):
    ag = _ag(call, demo, addresses=["10.0.0.0/8"])
    status, body = call(demo, "PUT", f"{AGS}/{ag['id']}", {"address_group": {"addresses": []}})
    assert status == 400 and "addresses" in body["NeutronError"]["message"]
    status, body = call(demo, "PUT", f"{AGS}/{ag['id']}", {"address_group": {"description": "new"}})
    assert status == 200 and body["address_group"]["description"] == "new"
    assert body["address_group"]["addresses"] == ["10.0.0.0/8"] and body["address_group"]["revision_number"] == 2


def test_add_and_remove_addresses(call, demo):
    ag = _ag(call, demo, addresses=["10.10.10.3/32"])
    status, body = call(demo, "PUT", f"{AGS}/{ag['id']}/add_addresses", {"addresses": ["10.20.30.40/32", "10.1.2.3/16"]})
    assert status == 200
    assert sorted(body["address_group"]["addresses"]) == ["10.1.0.0/16", "10.10.10.3/32", "10.20.30.40/32"]
    # a bare address is a host route, as netaddr reads it
    status, body = call(demo, "PUT", f"{AGS}/{ag['id']}/remove_addresses", {"addresses": ["10.10.10.3", "10.1.9.9/16"]})
    assert status == 200 and body["address_group"]["addresses"] == ["10.20.30.40/32"]
    shown = call(demo, "GET", f"{AGS}/{ag['id']}")[1]["address_group"]
    assert shown["addresses"] == ["10.20.30.40/32"] and shown["revision_number"] == 3


def test_adding_an_address_already_there_is_400_and_changes_nothing(call, demo):
    ag = _ag(call, demo, addresses=["10.0.0.0/24"])
    status, body = call(demo, "PUT", f"{AGS}/{ag['id']}/add_addresses", {"addresses": ["10.9.0.0/16", "10.0.0.7/24"]})
    assert (status, _error(body)) == (400, "AddressesAlreadyExist")
    assert "10.0.0.0/24" in body["NeutronError"]["message"]
    assert call(demo, "GET", f"{AGS}/{ag['id']}")[1]["address_group"]["addresses"] == ["10.0.0.0/24"]


def test_removing_a_missing_address_is_404_and_changes_nothing(call, demo):
    ag = _ag(call, demo, addresses=["10.0.0.0/24", "10.1.0.0/24"])
    status, body = call(demo, "PUT", f"{AGS}/{ag['id']}/remove_addresses", {"addresses": ["10.0.0.0/24", "10.200.200.200"]})
    assert (status, _error(body)) == (404, "AddressesNotFound")
    assert "10.200.200.200/32" in body["NeutronError"]["message"]
    assert call(demo, "GET", f"{AGS}/{ag['id']}")[1]["address_group"]["addresses"] == ["10.0.0.0/24", "10.1.0.0/24"]


def test_malformed_action_bodies_are_400(call, demo):
    ag = _ag(call, demo, addresses=["10.0.0.0/24"])
    for body in ({"addresses": ["this is bad IP address"]}, {"addresses": "10.0.0.0/8"}, {}, {"addresses": [None]}):
        for action in ("add_addresses", "remove_addresses"):
            status, answer = call(demo, "PUT", f"{AGS}/{ag['id']}/{action}", body)
            assert status == 400, (action, body, answer)
    assert call(demo, "GET", f"{AGS}/{ag['id']}")[1]["address_group"]["addresses"] == ["10.0.0.0/24"]


def test_unknown_group_is_404_for_every_call(call, demo):
    missing = "5b0bb1a3-1bf6-4c44-b1e8-000000000000"
    for method, path, body in (("GET", f"{AGS}/{missing}", None), ("DELETE", f"{AGS}/{missing}", None),
                               ("PUT", f"{AGS}/{missing}/add_addresses", {"addresses": []})):
        status, answer = call(demo, method, path, body)
        assert (status, _error(answer)) == (404, "AddressGroupNotFound")
        assert missing in answer["NeutronError"]["message"]


def test_list_filters_sorts_and_pages(call, demo):
    for name in ("b", "a", "c"):
        _ag(call, demo, name=name)
    listed = call(demo, "GET", AGS, query=[("sort_key", "name"), ("sort_dir", "asc")])[1]["address_groups"]
    assert [g["name"] for g in listed] == ["a", "b", "c"]
    assert [g["name"] for g in call(demo, "GET", AGS, query=[("name", "b")])[1]["address_groups"]] == ["b"]
    page = call(demo, "GET", AGS, query=[("limit", "2"), ("sort_key", "name"), ("sort_dir", "asc")])[1]
    assert [g["name"] for g in page["address_groups"]] == ["a", "b"]
    fields = call(demo, "GET", AGS, query=[("fields", "id"), ("fields", "addresses")])[1]["address_groups"]
    assert all(set(g) == {"id", "addresses"} for g in fields)


# --- policy ---------------------------------------------------------------------------------------
def test_other_projects_neither_see_nor_change_a_group(call, demo, alt):
    ag = _ag(call, demo, addresses=["10.0.0.0/24"])
    assert call(alt, "GET", AGS)[1]["address_groups"] == []
    for method, path, body in (("GET", f"{AGS}/{ag['id']}", None),
                               ("PUT", f"{AGS}/{ag['id']}", {"address_group": {"name": "x"}}),
                               ("PUT", f"{AGS}/{ag['id']}/add_addresses", {"addresses": ["10.9.0.0/16"]}),
                               ("DELETE", f"{AGS}/{ag['id']}", None)):
        status, answer = call(alt, method, path, body)
        assert (status, _error(answer)) == (404, "AddressGroupNotFound")
    assert call(demo, "GET", f"{AGS}/{ag['id']}")[1]["address_group"]["addresses"] == ["10.0.0.0/24"]


def test_readers_may_look_but_not_write(call, demo, reader):
    ag = _ag(call, demo, addresses=["10.0.0.0/24"])
    assert call(reader, "GET", f"{AGS}/{ag['id']}")[0] == 200
    status, body = call(reader, "PUT", f"{AGS}/{ag['id']}/add_addresses", {"addresses": ["10.9.0.0/16"]})
    assert (status, _error(body)) == (403, "PolicyNotAuthorized")
    assert call(reader, "POST", AGS, {"address_group": {"name": "x"}})[0] == 403


def test_admin_creates_for_another_project(call, admin, demo):
    ag = _ag(call, admin, project_id="demo-project", addresses=["10.0.0.0/8"])
    assert call(demo, "GET", f"{AGS}/{ag['id']}")[1]["address_group"]["project_id"] == "demo-project"


def test_rbac_share_makes_a_group_visible_and_usable_but_not_writable(call, admin):
    demo, alt = _uuid_ctx(1), _uuid_ctx(2)  # RBAC targets must look like project UUIDs
    ag = _ag(call, admin, addresses=["10.0.0.0/24"])
    sg = _group(call, demo)
    assert (_rule(call, demo, sg["id"], remote_address_group_id=ag["id"])[0]) == 404
    status, body = call(admin, "POST", RBAC, {"rbac_policy": {
        "object_type": "address_group", "object_id": ag["id"], "action": "access_as_shared",
        "target_tenant": demo.project_id}})
    assert status == 201, body
    policy = body["rbac_policy"]
    assert call(demo, "GET", f"{AGS}/{ag['id']}")[0] == 200
    assert call(alt, "GET", f"{AGS}/{ag['id']}")[0] == 404
    status, answer = call(demo, "PUT", f"{AGS}/{ag['id']}", {"address_group": {"name": "mine"}})
    assert (status, _error(answer)) == (404, "AddressGroupNotFound")
    status, rule = _rule(call, demo, sg["id"], remote_address_group_id=ag["id"])
    assert status == 201, rule
    # the rule needs the grant: the entry cannot go while it exists
    status, answer = call(admin, "DELETE", f"{RBAC}/{policy['id']}")
    assert (status, _error(answer)) == (409, "RbacPolicyInUse")
    assert call(demo, "DELETE", f"{RULES}/{rule['security_group_rule']['id']}")[0] == 204
    assert call(admin, "DELETE", f"{RBAC}/{policy['id']}")[0] == 204
    assert call(demo, "GET", f"{AGS}/{ag['id']}")[0] == 404


def test_regular_project_cannot_share_a_group_it_does_not_own(call, admin):
    demo, alt = _uuid_ctx(1), _uuid_ctx(2)
    ag = _ag(call, admin)
    status, _ = call(admin, "POST", RBAC, {"rbac_policy": {"object_type": "address_group", "object_id": ag["id"],
                                                           "action": "access_as_shared", "target_tenant": demo.project_id}})
    assert status == 201
    status, body = call(demo, "POST", RBAC, {"rbac_policy": {
        "object_type": "address_group", "object_id": ag["id"], "action": "access_as_shared",
        "target_tenant": alt.project_id}})
    assert status == 400
    assert call(demo, "GET", RBAC)[1]["rbac_policies"] == []


def test_the_owners_own_rules_do_not_hold_a_share_in_place(call, admin):
    ag = _ag(call, admin, addresses=["10.0.0.0/24"])
    sg = _group(call, admin, "own")
    assert _rule(call, admin, sg["id"], remote_address_group_id=ag["id"])[0] == 201
    status, body = call(admin, "POST", RBAC, {"rbac_policy": {"object_type": "address_group", "object_id": ag["id"],
                                                              "action": "access_as_shared", "target_tenant": "*"}})
    assert status == 201
    assert call(admin, "DELETE", f"{RBAC}/{body['rbac_policy']['id']}")[0] == 204


def test_deleting_a_group_drops_its_rbac_entries(call, admin):
    ag = _ag(call, admin)
    call(admin, "POST", RBAC, {"rbac_policy": {"object_type": "address_group", "object_id": ag["id"],
                                               "action": "access_as_shared", "target_tenant": "*"}})
    assert call(admin, "DELETE", f"{AGS}/{ag['id']}")[0] == 204
    assert call(admin, "GET", RBAC, query=[("object_id", ag["id"])])[1]["rbac_policies"] == []


# --- rules naming a group -------------------------------------------------------------------------
def test_rule_with_remote_address_group(call, demo):
    ag = _ag(call, demo, addresses=["10.0.0.0/24"])
    sg = _group(call, demo)
    status, body = _rule(call, demo, sg["id"], remote_address_group_id=ag["id"])
    assert status == 201, body
    rule = body["security_group_rule"]
    assert rule["remote_address_group_id"] == ag["id"]
    assert rule["remote_ip_prefix"] is None and rule["remote_group_id"] is None
    listed = call(demo, "GET", RULES, query=[("remote_address_group_id", ag["id"])])[1]["security_group_rules"]
    assert [r["id"] for r in listed] == [rule["id"]]


def test_rule_may_name_only_one_remote(call, demo):
    ag = _ag(call, demo, addresses=["10.0.0.0/24"])
    sg = _group(call, demo)
    for other in ({"remote_ip_prefix": "10.0.0.0/8"}, {"remote_group_id": sg["id"]}):
        status, body = _rule(call, demo, sg["id"], remote_address_group_id=ag["id"], **other)
        assert (status, _error(body)) == (400, "SecurityGroupMultipleRemoteEntites")


def test_rule_naming_another_projects_group_is_404(call, demo, alt):
    foreign = _ag(call, alt, addresses=["10.0.0.0/24"])
    sg = _group(call, demo)
    status, body = _rule(call, demo, sg["id"], remote_address_group_id=foreign["id"])
    assert (status, _error(body)) == (404, "AddressGroupNotFound")


def test_duplicate_detection_includes_the_address_group(call, demo):
    one, two = _ag(call, demo, name="one"), _ag(call, demo, name="two")
    sg = _group(call, demo)
    assert _rule(call, demo, sg["id"], remote_address_group_id=one["id"])[0] == 201
    assert _rule(call, demo, sg["id"], remote_address_group_id=two["id"])[0] == 201
    status, body = _rule(call, demo, sg["id"], remote_address_group_id=one["id"])
    assert (status, _error(body)) == (409, "SecurityGroupRuleExists")


def test_deleting_a_group_a_rule_names_is_409(call, demo):
    ag = _ag(call, demo, addresses=["10.0.0.0/24"])
    sg = _group(call, demo)
    rule = _rule(call, demo, sg["id"], remote_address_group_id=ag["id"])[1]["security_group_rule"]
    status, body = call(demo, "DELETE", f"{AGS}/{ag['id']}")
    assert (status, _error(body)) == (409, "AddressGroupInUse")
    assert call(demo, "DELETE", f"{RULES}/{rule['id']}")[0] == 204
    assert call(demo, "DELETE", f"{AGS}/{ag['id']}")[0] == 204


def test_default_rule_template_with_an_address_group_reaches_new_groups(call, admin, demo):
    ag = _ag(call, admin, addresses=["10.0.0.0/24"])
    status, body = call(admin, "POST", "/v2.0/default-security-group-rules", {"default_security_group_rule": {
        "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "remote_address_group_id": ag["id"],
        "used_in_default_sg": False, "used_in_non_default_sg": True}})
    assert status == 201, body
    sg = _group(call, admin, "fresh")
    assert any(r["remote_address_group_id"] == ag["id"] for r in sg["security_group_rules"])


def test_extensions_are_advertised(call, demo):
    aliases = {e["alias"] for e in call(demo, "GET", "/v2.0/extensions")[1]["extensions"]}
    assert {"address-group", "security-groups-remote-address-group", "rbac-address-group"} <= aliases


# --- invariant ------------------------------------------------------------------------------------
_cidrs = st.builds(lambda a, n: f"{ipaddress.IPv4Address(a)}/{n}", st.integers(0, 2**32 - 1), st.integers(8, 32))


@settings(max_examples=60, deadline=None)
@given(start=st.lists(_cidrs, max_size=5, unique=True),
       ops=st.lists(st.tuples(st.sampled_from(["add_addresses", "remove_addresses"]),
                              st.lists(_cidrs, min_size=1, max_size=3)), max_size=8))
def test_addresses_are_the_set_the_accepted_actions_leave(start, ops):
    """Whatever sequence of actions: the stored addresses equal the normalised set that the
    accepted actions produce, and a refused action changes nothing."""
    plane = ControlPlane()
    api = NeutronAPI(plane)
    ctx = Context(project_id="p", user_id="u", roles=frozenset({"member", "reader"}))

    def do(method, path, body=None):
        try:
            return api.handle(ctx, Request(method, path, body=body)).body
        except errors.NeutronException as exc:
            return exc

    ag = do("POST", AGS, {"address_group": {"addresses": start}})["address_group"]
    model = {str(ipaddress.ip_network(c, strict=False)) for c in start}
    for action, addresses in ops:
        wanted = {str(ipaddress.ip_network(c, strict=False)) for c in addresses}
        answer = do("PUT", f"{AGS}/{ag['id']}/{action}", {"addresses": addresses})
        if action == "add_addresses":
            assert isinstance(answer, errors.AddressesAlreadyExist) == bool(wanted & model)
            if not wanted & model:
                model |= wanted
        else:
            assert isinstance(answer, errors.AddressesNotFound) == bool(wanted - model)
            if not wanted - model:
                model -= wanted
        stored = do("GET", f"{AGS}/{ag['id']}")["address_group"]["addresses"]
        assert sorted(stored) == sorted(model) and len(stored) == len(set(stored))
