"""Security groups: the lazy default group, sample-shaped bodies, policy and in-use rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xloudnet.control import errors
from xloudnet.control.context import Context

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "neutron"
SGS = "/v2.0/security-groups"
RULES = "/v2.0/security-group-rules"


def sample(name: str) -> dict:
    return json.loads(next(SAMPLES.glob(f"{name}*.json")).read_text())["response"]["body"]


def error_type(body: dict) -> str:
    return body["NeutronError"]["type"]


def create_group(call, ctx, **attrs) -> dict:
    status, body = call(ctx, "POST", SGS, {"security_group": {"name": "web", **attrs}})
    assert status == 201, body
    return body["security_group"]


def default_group(call, ctx) -> dict:
    status, body = call(ctx, "GET", SGS, query=[("name", "default")])
    assert status == 200
    [group] = body["security_groups"]
    return group


def put_port(plane, project: str, sg_ids: list[str]) -> str:
    """A port record using the groups (the ports service is another engineer's)."""
    port_id = plane.new_id()
    plane.store.put("ports", {"id": port_id, "project_id": project, "security_groups": list(sg_ids)})
    return port_id


# --- the default group ------------------------------------------------------------------------
def test_first_list_creates_default_group_shaped_like_sample_033(call, demo):
    status, body = call(demo, "GET", SGS)
    assert status == 200
    [group] = body["security_groups"]
    [expected] = sample("033")["security_groups"]
    assert set(group) == set(expected)
    assert group["name"] == "default" and group["description"] == "Default security group"
    assert group["revision_number"] == 1 and group["stateful"] is True and group["shared"] is False
    assert {frozenset(r) for r in group["security_group_rules"]} == {frozenset(expected["security_group_rules"][0])}


def test_default_group_has_egress_any_and_ingress_from_itself(call, demo):
    group = default_group(call, demo)
    rules = {(r["direction"], r["ethertype"], r["remote_group_id"]) for r in group["security_group_rules"]}
    assert rules == {
        ("egress", "IPv4", None),
        ("egress", "IPv6", None),
        ("ingress", "IPv4", group["id"]),
        ("ingress", "IPv6", group["id"]),
    }
    for rule in group["security_group_rules"]:
        assert rule["belongs_to_default_sg"] is True
        assert rule["protocol"] is None and rule["remote_ip_prefix"] is None


def test_listing_again_does_not_create_a_second_default(call, demo, plane):
    call(demo, "GET", SGS)
    call(demo, "GET", SGS)
    call(demo, "GET", RULES)
    assert plane.store.count_where("security_groups", "project_id", "demo-project") == 1


def test_listing_rules_creates_the_default_group(call, demo, plane):
    status, body = call(demo, "GET", RULES)
    assert status == 200
    assert len(body["security_group_rules"]) == 4
    assert plane.store.count_where("security_groups", "project_id", "demo-project") == 1


def test_creating_a_group_first_creates_the_default(call, demo):
    create_group(call, demo)
    status, body = call(demo, "GET", SGS, query=[("sort_key", "name"), ("sort_dir", "asc")])
    assert [g["name"] for g in body["security_groups"]] == ["default", "web"]


def test_creating_a_network_creates_the_default_group(call, demo, plane):
    status, _ = call(demo, "POST", "/v2.0/networks", {"network": {"name": "n"}})
    assert status == 201
    assert plane.store.count_where("security_groups", "project_id", "demo-project") == 1


def test_admin_listing_creates_default_for_the_admins_project(call, admin, plane):
    call(admin, "GET", SGS)
    assert plane.store.count_where("security_groups", "project_id", "admin-project") == 1
    call(admin, "GET", SGS, query=[("project_id", "other-project")])
    assert plane.store.count_where("security_groups", "project_id", "other-project") == 1


def test_member_filtering_on_another_project_creates_nothing_there(call, demo, plane):
    call(demo, "GET", SGS, query=[("project_id", "alt-project")])
    assert plane.store.count_where("security_groups", "project_id", "alt-project") == 0


def test_ensure_default_is_idempotent_and_rolls_back_with_its_transaction(plane):
    first = plane.security_groups.ensure_default("p1")
    assert plane.security_groups.ensure_default("p1") == first
    assert plane.security_groups.ensure_default("") is None
    with pytest.raises(RuntimeError):
        with plane.store.transaction():
            plane.security_groups.ensure_default("p2")
            raise RuntimeError("boom")
    assert plane.store.count_where("security_groups", "project_id", "p2") == 0
    assert plane.store.count_where("security_group_rules", "project_id", "p2") == 0


# --- create / show shapes -----------------------------------------------------------------------
def test_create_group_is_shaped_like_sample_034(call, demo):
    group = create_group(call, demo, description="allow ssh")
    expected = sample("034")["security_group"]
    assert set(group) == set(expected)
    assert group["revision_number"] == 1 and group["description"] == "allow ssh"
    rules = group["security_group_rules"]
    assert [set(r) for r in rules] == [set(r) for r in expected["security_group_rules"]]
    assert {(r["direction"], r["ethertype"]) for r in rules} == {("egress", "IPv4"), ("egress", "IPv6")}
    assert all(r["belongs_to_default_sg"] is False and r["revision_number"] == 0 for r in rules)
    assert all(r["description"] is None and r["tags"] == [] for r in rules)


def test_show_group_after_adding_a_rule_is_shaped_like_sample_038(call, demo):
    group = create_group(call, demo)
    rule = {"security_group_id": group["id"], "direction": "ingress", "protocol": "tcp",
            "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"}  # fmt: skip
    assert call(demo, "POST", RULES, {"security_group_rule": rule})[0] == 201
    status, body = call(demo, "GET", f"{SGS}/{group['id']}")
    expected = sample("038")["security_group"]
    assert status == 200
    shown = body["security_group"]
    assert set(shown) == set(expected)
    assert shown["revision_number"] == 2
    assert [set(r) for r in shown["security_group_rules"]] == [set(r) for r in expected["security_group_rules"]]
    assert shown["security_group_rules"][-1]["port_range_min"] == 22


def test_embedded_rules_keep_creation_order(call, demo):
    group = create_group(call, demo)
    for port in (80, 443, 22):
        rule = {"security_group_id": group["id"], "direction": "ingress", "protocol": "tcp",
                "port_range_min": port, "port_range_max": port}  # fmt: skip
        call(demo, "POST", RULES, {"security_group_rule": rule})
    shown = call(demo, "GET", f"{SGS}/{group['id']}")[1]["security_group"]
    assert [r["port_range_min"] for r in shown["security_group_rules"]] == [None, None, 80, 443, 22]


def test_fields_selection_leaves_out_rules_unless_asked(call, demo):
    group = create_group(call, demo)
    body = call(demo, "GET", f"{SGS}/{group['id']}", query=[("fields", "id"), ("fields", "name")])[1]
    assert body["security_group"] == {"id": group["id"], "name": "web"}
    body = call(demo, "GET", f"{SGS}/{group['id']}", query=[("fields", "security_group_rules")])[1]
    assert len(body["security_group"]["security_group_rules"]) == 2


def test_internal_attributes_never_show(call, demo):
    group = create_group(call, demo)
    assert "default_of" not in group
    assert all("standard_attr_id" not in r for r in call(demo, "GET", RULES)[1]["security_group_rules"])
    status, body = call(demo, "GET", SGS, query=[("default_of", "x")])
    assert status == 400


def test_stateless_group_and_filters(call, demo):
    create_group(call, demo, stateful=False)
    create_group(call, demo, name="db")
    names = lambda q: sorted(g["name"] for g in call(demo, "GET", SGS, query=q)[1]["security_groups"])  # noqa: E731
    assert names([("stateful", "false")]) == ["web"]
    assert names([("stateful", "True")]) == ["db", "default"]
    assert names([("shared", "false")]) == ["db", "default", "web"]


# --- names of the default group ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["default", "Default", "DEFAULT"])
def test_creating_a_group_named_default_is_409(call, demo, name):
    status, body = call(demo, "POST", SGS, {"security_group": {"name": name}})
    assert status == 409
    assert error_type(body) == "SecurityGroupDefaultAlreadyExists"


def test_renaming_a_group_to_default_is_409(call, demo):
    group = create_group(call, demo)
    status, body = call(demo, "PUT", f"{SGS}/{group['id']}", {"security_group": {"name": "default"}})
    assert status == 409 and error_type(body) == "SecurityGroupDefaultAlreadyExists"


def test_renaming_the_default_group_is_409(call, demo):
    group = default_group(call, demo)
    status, body = call(demo, "PUT", f"{SGS}/{group['id']}", {"security_group": {"name": "mine"}})
    assert status == 409 and error_type(body) == "SecurityGroupCannotUpdateDefault"


def test_describing_the_default_group_is_allowed(call, demo):
    group = default_group(call, demo)
    status, body = call(demo, "PUT", f"{SGS}/{group['id']}", {"security_group": {"description": "ours"}})
    assert status == 200
    assert body["security_group"]["description"] == "ours"
    assert body["security_group"]["revision_number"] == 2
    assert len(body["security_group"]["security_group_rules"]) == 4


def test_member_deleting_the_default_group_is_409(call, demo):
    group = default_group(call, demo)
    status, body = call(demo, "DELETE", f"{SGS}/{group['id']}")
    assert status == 409 and error_type(body) == "SecurityGroupCannotRemoveDefault"


def test_admin_may_delete_a_default_group_and_it_comes_back(call, demo, admin):
    group = default_group(call, demo)
    assert call(admin, "DELETE", f"{SGS}/{group['id']}")[0] == 204
    again = default_group(call, demo)
    assert again["id"] != group["id"]


# --- delete / in use ---------------------------------------------------------------------------------
def test_deleting_a_group_removes_its_rules_sample_077(call, demo, plane):
    group = create_group(call, demo)
    status, body = call(demo, "DELETE", f"{SGS}/{group['id']}")
    assert (status, body) == (204, None)
    assert plane.store.count_where("security_group_rules", "security_group_id", group["id"]) == 0
    assert call(demo, "GET", f"{SGS}/{group['id']}")[0] == 404


def test_deleting_a_group_drops_rules_that_name_it_as_remote(call, demo, plane):
    target, other = create_group(call, demo), create_group(call, demo, name="other")
    rule = {"security_group_id": other["id"], "direction": "ingress", "remote_group_id": target["id"]}
    assert call(demo, "POST", RULES, {"security_group_rule": rule})[0] == 201
    assert call(demo, "DELETE", f"{SGS}/{target['id']}")[0] == 204
    shown = call(demo, "GET", f"{SGS}/{other['id']}")[1]["security_group"]
    assert all(r["remote_group_id"] is None for r in shown["security_group_rules"])
    assert shown["revision_number"] == 3


def test_deleting_a_group_used_by_a_port_is_409(call, demo, plane):
    group = create_group(call, demo)
    put_port(plane, "demo-project", [group["id"]])
    status, body = call(demo, "DELETE", f"{SGS}/{group['id']}")
    assert status == 409
    assert body["NeutronError"] == {
        "type": "SecurityGroupInUse",
        "message": f"Security Group {group['id']} in use.",
        "detail": "",
    }


def test_changing_stateful_of_a_used_group_is_409(call, demo, plane):
    group = create_group(call, demo)
    put_port(plane, "demo-project", [group["id"]])
    status, body = call(demo, "PUT", f"{SGS}/{group['id']}", {"security_group": {"stateful": False}})
    assert status == 409 and error_type(body) == "SecurityGroupInUse"
    status, _ = call(demo, "PUT", f"{SGS}/{group['id']}", {"security_group": {"stateful": True, "name": "w2"}})
    assert status == 200


def test_changing_stateful_of_an_unused_group_is_allowed(call, demo):
    group = create_group(call, demo)
    status, body = call(demo, "PUT", f"{SGS}/{group['id']}", {"security_group": {"stateful": "false"}})
    assert status == 200 and body["security_group"]["stateful"] is False


def test_members_are_the_ports_using_the_group(call, demo, plane):
    group, other = create_group(call, demo), create_group(call, demo, name="x")
    port = put_port(plane, "demo-project", [group["id"], other["id"]])
    put_port(plane, "demo-project", [other["id"]])
    assert [p["id"] for p in plane.security_groups.members(group["id"])] == [port]
    assert len(plane.security_groups.members(other["id"])) == 2


# --- check_usable (for ports) ------------------------------------------------------------------------
def test_check_usable_accepts_own_groups(call, demo, plane):
    group = create_group(call, demo)
    plane.security_groups.check_usable(demo, [group["id"], default_group(call, demo)["id"]], "demo-project")


def test_check_usable_names_every_missing_group(plane, demo):
    with pytest.raises(errors.SecurityGroupNotFound) as caught:
        plane.security_groups.check_usable(demo, ["nope-1", "nope-2"], "demo-project")
    assert caught.value.status == 404
    assert str(caught.value) == "Security group nope-1, nope-2 does not exist"


def test_check_usable_rejects_another_projects_group_for_members(call, demo, alt, admin, plane):
    group = create_group(call, alt)
    with pytest.raises(errors.SecurityGroupNotFound):
        plane.security_groups.check_usable(demo, [group["id"]], "demo-project")
    plane.security_groups.check_usable(admin, [group["id"]], "demo-project")


def test_mixing_stateful_and_stateless_groups_is_409(call, demo, plane):
    stateful, stateless = create_group(call, demo), create_group(call, demo, name="s", stateful=False)
    with pytest.raises(errors.SecurityGroupConflict) as caught:
        plane.security_groups.check_usable(demo, [stateful["id"], stateless["id"]], "demo-project")
    assert caught.value.status == 409


# --- policy ------------------------------------------------------------------------------------
def test_another_projects_group_is_404(call, demo, alt):
    group = create_group(call, demo)
    for method, body in (("GET", None), ("PUT", {"security_group": {"name": "x"}}), ("DELETE", None)):
        status, answer = call(alt, method, f"{SGS}/{group['id']}", body)
        assert status == 404 and error_type(answer) == "SecurityGroupNotFound"
    assert group["id"] not in [g["id"] for g in call(alt, "GET", SGS)[1]["security_groups"]]


def test_admin_sees_every_projects_groups(call, demo, alt, admin):
    ids = {create_group(call, demo)["id"], create_group(call, alt)["id"]}
    listed = {g["id"] for g in call(admin, "GET", SGS)[1]["security_groups"]}
    assert ids <= listed


def test_reader_cannot_create_a_group(call, reader):
    status, body = call(reader, "POST", SGS, {"security_group": {"name": "x"}})
    assert status == 403 and error_type(body) == "PolicyNotAuthorized"


def test_admin_may_create_a_group_for_another_project(call, admin, plane):
    status, body = call(admin, "POST", SGS, {"security_group": {"name": "x", "project_id": "p9"}})
    assert status == 201 and body["security_group"]["project_id"] == "p9"
    assert plane.store.count_where("security_groups", "project_id", "p9") == 2


def test_security_groups_are_taggable(call, demo):
    group = create_group(call, demo)
    status, body = call(demo, "PUT", f"{SGS}/{group['id']}/tags", {"tags": ["a", "b"]})
    assert status == 200 and sorted(body["tags"]) == ["a", "b"]
    listed = call(demo, "GET", SGS, query=[("tags", "a")])[1]["security_groups"]
    assert [g["id"] for g in listed] == [group["id"]]


def test_security_group_extensions_are_advertised(call, demo):
    aliases = {e["alias"] for e in call(demo, "GET", "/v2.0/extensions")[1]["extensions"]}
    assert {
        "security-group",
        "stateful-security-group",
        "security-groups-normalized-cidr",
        "security-groups-rules-belongs-to-default-sg",
        "port-security-groups-filtering",
    } <= aliases


def test_other_project_context_without_project_creates_no_default(plane):
    system = Context(project_id=None, roles=frozenset({"admin", "member", "reader"}))
    from xloudnet.control.query import ListQuery

    plane.security_groups.list(system, ListQuery())
    assert len(plane.store.table("security_groups")) == 0


def test_a_new_groups_rules_count_against_the_rule_quota():
    from xloudnet.control.neutron import NeutronAPI, Request
    from xloudnet.control.plane import ControlPlane

    plane = ControlPlane(quotas={"security_group_rule": 5})
    api = NeutronAPI(plane)
    ctx = Context("q", "u", frozenset({"member", "reader"}))
    with pytest.raises(errors.OverQuota) as caught:  # 4 default rules + 2 egress rules > 5
        api.handle(ctx, Request("POST", SGS, body={"security_group": {"name": "x"}}))
    assert str(caught.value) == "Quota exceeded for resources: ['security_group_rule']."
    assert [g["name"] for g in plane.store.table("security_groups").values()] == []
