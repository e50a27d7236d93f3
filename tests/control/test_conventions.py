"""The API-wide conventions of the request layer (digest §1), exercised through networks:
envelopes, attribute checks, bulk, fields, filters, sorting, paging, tags, If-Match, projects,
extensions and the resources document."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from xloudnet.control.extensions import CATALOG, CONVENTIONS

BASE = "http://xloudnet.test/networking"  # the conftest call fixture's base_url

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "neutron"
NETS = "/v2.0/networks"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())["response"]


def error(body) -> tuple[str, str]:
    return body["NeutronError"]["type"], body["NeutronError"]["message"]


def ids(body, key="networks") -> list[str]:
    return [item["id"] for item in body[key]]


# --- bodies --------------------------------------------------------------------------------------
def test_missing_envelope_is_400(call, demo):
    status, body = call(demo, "POST", NETS, {"name": "x"})
    assert (status, error(body)) == (400, ("HTTPBadRequest", "Unable to find 'network' in request body"))


def test_body_that_is_not_an_object_is_400(call, demo, net):
    assert error(call(demo, "POST", NETS, ["x"])[1]) == ("HTTPBadRequest", "Body contains invalid data")
    assert error(call(demo, "POST", NETS, {"network": "x"})[1]) == ("HTTPBadRequest", "Body contains invalid data")
    network = net()
    assert call(demo, "PUT", f"{NETS}/{network['id']}", None)[0] == 400


def test_unknown_attribute_is_400_as_sample_064(call, demo):
    status, body = call(demo, "POST", NETS, {"network": {"name": "x", "no_such_attr": 1}})
    expected = sample("064-bad-json-body-400.json")
    assert (status, body) == (expected["status"], expected["body"])


def test_read_only_and_post_only_attributes(call, demo, net):
    status, body = call(demo, "POST", NETS, {"network": {"status": "DOWN"}})
    assert error(body) == ("HTTPBadRequest", "Attribute 'status' not allowed in POST")
    network = net()
    for name, value in (("id", "x"), ("project_id", "x"), ("availability_zone_hints", []), ("subnets", [])):
        status, body = call(demo, "PUT", f"{NETS}/{network['id']}", {"network": {name: value}})
        assert (status, error(body)) == (400, ("HTTPBadRequest", f"Cannot update read-only attribute {name}"))


def test_invalid_values_name_the_attribute(call, demo):
    status, body = call(demo, "POST", NETS, {"network": {"admin_state_up": "perhaps"}})
    assert status == 400
    assert error(body)[1].startswith("Invalid input for admin_state_up. Reason: ")
    status, body = call(demo, "POST", NETS, {"network": {"name": 5}})
    assert error(body) == ("HTTPBadRequest", "Invalid input for name. Reason: '5' is not a valid string.")


def test_delete_with_a_body_is_400_and_unknown_urls_404_and_wrong_verbs_405(call, demo, net):
    network = net()
    assert call(demo, "DELETE", f"{NETS}/{network['id']}", {"x": 1})[0] == 400
    status, body = call(demo, "GET", "/v2.0/no-such-things")
    expected = sample("065-unknown-resource-404.json")
    assert (status, body) == (expected["status"], expected["body"])
    assert call(demo, "POST", f"{NETS}/{network['id']}", {"network": {}})[0] == 405
    assert call(demo, "PUT", NETS, {"network": {}})[0] == 405


def test_json_suffix_is_tolerated(call, demo, net):
    network = net()
    assert call(demo, "GET", f"{NETS}/{network['id']}.json")[1]["network"]["id"] == network["id"]
    assert call(demo, "GET", f"{NETS}.json")[0] == 200


def test_any_unknown_id_is_404_never_400(call, demo):
    status, body = call(demo, "GET", f"{NETS}/not-a-uuid")
    assert (status, error(body)) == (404, ("NetworkNotFound", "Network not-a-uuid could not be found."))


# --- bulk ----------------------------------------------------------------------------------------
def test_bulk_create_returns_every_item_and_accepts_wrapped_items(call, demo):
    status, body = call(demo, "POST", NETS, {"networks": [{"name": "a"}, {"network": {"name": "b"}}]})
    assert status == 201
    assert [n["name"] for n in body["networks"]] == ["a", "b"]


@pytest.mark.parametrize(
    ("bad", "status"),
    [({"name": "b", "bogus": 1}, 400), ({"name": "b", "shared": True}, 403), ({"name": "b", "mtu": 9000}, 400)],
)
def test_a_failing_bulk_item_leaves_nothing_behind(call, demo, plane, bad, status):
    before = {t: len(plane.store.table(t)) for t in ("networks", "security_groups", "security_group_rules")}
    got, _ = call(demo, "POST", NETS, {"networks": [{"name": "a"}, bad]})
    assert got == status
    assert {t: len(plane.store.table(t)) for t in before} == before
    assert call(demo, "GET", NETS)[1]["networks"] == []


def test_empty_bulk_is_400(call, demo):
    status, body = call(demo, "POST", NETS, {"networks": []})
    assert (status, error(body)) == (400, ("HTTPBadRequest", "Resources required"))


# --- fields --------------------------------------------------------------------------------------
def test_fields_select_keys_on_show_as_sample_014(call, demo, net):
    network = net(name="private")
    query = [("fields", "id"), ("fields", "name"), ("fields", "subnets")]
    _, body = call(demo, "GET", f"{NETS}/{network['id']}", query=query)
    assert body == {"network": {"id": network["id"], "name": "private", "subnets": []}}


def test_fields_on_lists_skip_unknown_and_admin_only_names(call, demo, admin, net):
    net(name="a")
    query = [("fields", "name"), ("fields", "nonsense"), ("fields", "provider:network_type")]
    assert call(demo, "GET", NETS, query=query)[1] == {"networks": [{"name": "a"}]}
    admin_view = call(admin, "GET", NETS, query=query)[1]["networks"]
    assert [sorted(n) for n in admin_view] == [["name", "provider:network_type"]]


# --- filters -------------------------------------------------------------------------------------
def test_repeated_filter_is_or_and_different_keys_are_and(call, demo, net):
    a, b, _ = net(name="a"), net(name="b", admin_state_up=False), net(name="c")
    _, body = call(demo, "GET", NETS, query=[("name", "a"), ("name", "b")])
    assert sorted(ids(body)) == sorted([a["id"], b["id"]])
    _, body = call(demo, "GET", NETS, query=[("name", "a"), ("name", "b"), ("admin_state_up", "false")])
    assert ids(body) == [b["id"]]
    _, body = call(demo, "GET", NETS, query=[("id", a["id"]), ("id", b["id"])])
    assert sorted(ids(body)) == sorted([a["id"], b["id"]])


@pytest.mark.parametrize("spelling", ["False", "false", "0", "off"])
def test_boolean_filters_are_converted(call, demo, net, spelling):
    down = net(admin_state_up=False)
    net()
    assert ids(call(demo, "GET", NETS, query=[("admin_state_up", spelling)])[1]) == [down["id"]]


def test_unknown_or_non_filterable_keys_are_400(call, demo):
    status, body = call(demo, "GET", NETS, query=[("foo", "1")])
    assert (status, error(body)) == (400, ("HTTPBadRequest", "['foo'] is invalid attribute for filtering"))
    status, body = call(demo, "GET", NETS, query=[("created_at", "2026-01-01T00:00:00Z")])
    assert (status, error(body)[0]) == (400, "HTTPBadRequest")
    status, body = call(demo, "GET", NETS, query=[("admin_state_up", "sometimes")])
    assert (status, error(body)[0]) == (400, "HTTPBadRequest")


def test_empty_string_filter_matches_empty_values(call, demo, net):
    blank = net(description="")
    net(description="text")
    assert ids(call(demo, "GET", NETS, query=[("description", "")])[1]) == [blank["id"]]


def test_revision_number_filter_is_converted(call, demo, net):
    network = net()
    call(demo, "PUT", f"{NETS}/{network['id']}", {"network": {"name": "x"}})
    net()
    assert ids(call(demo, "GET", NETS, query=[("revision_number", "2")])[1]) == [network["id"]]


def test_changed_since_filter(call, demo, net):
    old = net()
    new = net()
    call(demo, "PUT", f"{NETS}/{new['id']}", {"network": {"name": "x"}})
    since = call(demo, "GET", f"{NETS}/{new['id']}")[1]["network"]["updated_at"]
    assert ids(call(demo, "GET", NETS, query=[("changed_since", since)])[1]) == [new["id"]]
    assert old["id"] not in ids(call(demo, "GET", NETS, query=[("changed_since", since)])[1])


# --- sorting -------------------------------------------------------------------------------------
def test_sort_by_keys_and_directions(call, demo, net):
    for name, up in (("b", True), ("a", True), ("c", False), ("a", False)):
        net(name=name, admin_state_up=up)
    _, body = call(demo, "GET", NETS, query=[("sort_key", "name"), ("sort_dir", "desc")])
    assert [n["name"] for n in body["networks"]] == ["c", "b", "a", "a"]
    query = [("sort_key", "name"), ("sort_dir", "asc"), ("sort_key", "admin_state_up"), ("sort_dir", "desc")]
    _, body = call(demo, "GET", NETS, query=query)
    assert [(n["name"], n["admin_state_up"]) for n in body["networks"]] == [
        ("a", True), ("a", False), ("b", True), ("c", False)
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ([("sort_key", "name")], "The number of sort_keys and sort_dirs must be same"),
        ([("sort_key", "name"), ("sort_dir", "up")], "['up'] is invalid value for sort_dirs, valid value is 'asc' and 'desc'"),
        ([("sort_key", "created_at"), ("sort_dir", "asc")], "['created_at'] is invalid attribute for sort_keys"),
        ([("sort_key", "shared"), ("sort_dir", "asc")], "['shared'] is invalid attribute for sort_keys"),
    ],
)
def test_invalid_sorts_are_400(call, demo, query, message):
    status, body = call(demo, "GET", NETS, query=query)
    assert (status, error(body)) == (400, ("HTTPBadRequest", message))


# --- pagination ----------------------------------------------------------------------------------
def walk(call, ctx, query, limit):
    """Follow ``next`` links like gophercloud; return the pages."""
    pages, extra = [], list(query) + [("limit", str(limit))]
    while True:
        _, body = call(ctx, "GET", NETS, query=extra)
        pages.append(body)
        nxt = [link for link in body["networks_links"] if link["rel"] == "next"]
        if not body["networks"] or not nxt:
            return pages
        extra = parse_qsl(urlsplit(nxt[0]["href"]).query)


def test_paging_by_id_visits_every_item_once_in_order(call, demo, net):
    made = sorted(net()["id"] for _ in range(5))
    pages = walk(call, demo, [], 2)
    assert [len(p["networks"]) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in ids(p)] == made


def test_paging_with_sort_keys_and_filters(call, demo, net):
    made = [net(name=name) for name in ("b", "a", "c", "a", "d")]
    net(name="z", admin_state_up=False)
    query = [("admin_state_up", "true"), ("sort_key", "name"), ("sort_dir", "asc")]
    pages = walk(call, demo, query, 2)
    seen = [n for p in pages for n in p["networks"]]
    expected = sorted(made, key=lambda n: (n["name"], n["id"]))
    assert [n["id"] for n in seen] == [n["id"] for n in expected]


def test_links_follow_sample_046(call, demo, net):
    first, second = sorted(net()["id"] for _ in range(3))[:2]
    query = [("limit", "2"), ("sort_key", "id"), ("sort_dir", "asc")]
    _, body = call(demo, "GET", NETS, query=query)
    assert ids(body) == [first, second]
    base = f"{BASE}{NETS}?limit=2&sort_key=id&sort_dir=asc"
    assert body["networks_links"] == [
        {"rel": "next", "href": f"{base}&marker={second}"},
        {"rel": "previous", "href": f"{base}&marker={first}&page_reverse=True"},
    ]
    shape = sample("046-tenant-list-ports-paginated.json")["body"]["ports_links"]
    assert [link["rel"] for link in shape] == [link["rel"] for link in body["networks_links"]]


def test_full_last_page_still_links_next_and_partial_page_does_not(call, demo, net):
    made = sorted(net()["id"] for _ in range(4))
    _, full = call(demo, "GET", NETS, query=[("limit", "2"), ("marker", made[1])])
    assert "next" in {link["rel"] for link in full["networks_links"]}
    _, partial = call(demo, "GET", NETS, query=[("limit", "3"), ("marker", made[1])])
    assert {link["rel"] for link in partial["networks_links"]} == {"previous"}


def test_empty_forward_page_still_links_previous(call, demo, net):
    made = sorted(net()["id"] for _ in range(2))
    _, body = call(demo, "GET", NETS, query=[("limit", "2"), ("marker", made[-1])])
    assert body["networks"] == []
    assert [link["rel"] for link in body["networks_links"]] == ["previous"]


def test_page_reverse_returns_the_previous_page_in_forward_order(call, demo, net):
    made = sorted(net()["id"] for _ in range(5))
    _, body = call(demo, "GET", NETS, query=[("limit", "2"), ("marker", made[3]), ("page_reverse", "True")])
    assert ids(body) == made[1:3]
    _, body = call(demo, "GET", NETS, query=[("limit", "2"), ("marker", made[1]), ("page_reverse", "True")])
    assert ids(body) == made[:1]
    assert {link["rel"] for link in body["networks_links"]} == {"next"}


def test_limit_zero_means_no_paging_and_no_links(call, demo, net):
    for _ in range(3):
        net()
    _, body = call(demo, "GET", NETS, query=[("limit", "0")])
    assert len(body["networks"]) == 3 and "networks_links" not in body


@pytest.mark.parametrize("limit", ["-1", "abc", "1.5"])
def test_invalid_limit_is_400(call, demo, limit):
    status, body = call(demo, "GET", NETS, query=[("limit", limit)])
    assert (status, error(body)) == (400, ("HTTPBadRequest", f"Limit must be an integer 0 or greater and not '{limit}'"))


def test_unknown_marker_is_404(call, demo, net):
    net()
    status, body = call(demo, "GET", NETS, query=[("limit", "1"), ("marker", "gone")])
    assert (status, error(body)[0]) == (404, "NetworkNotFound")
    status, body = call(demo, "GET", NETS, query=[("limit", "1"), ("marker", "gone"), ("sort_key", "name"), ("sort_dir", "asc")])
    assert (status, error(body)[0]) == (404, "NetworkNotFound")


def test_max_limit_clamps_pages(plane, demo):
    from xloudnet.control.neutron import NeutronAPI, Request

    for _ in range(3):
        plane.networks.create(demo, {})
    api = NeutronAPI(plane, max_limit=2)
    body = api.handle(demo, Request("GET", NETS, query=[("limit", "10")], base_url=BASE)).body
    assert len(body["networks"]) == 2


# --- tags ----------------------------------------------------------------------------------------
def test_the_seven_tag_calls(call, demo, net):
    network = net()
    tags = f"{NETS}/{network['id']}/tags"
    assert call(demo, "PUT", f"{tags}/red") == (sample("020-tenant-add-tag.json")["status"], None)
    status, body = call(demo, "PUT", tags, {"tags": ["red", "blue"]})
    assert (status, sorted(body["tags"])) == (200, ["blue", "red"])
    assert call(demo, "GET", f"{tags}/blue") == (204, None)
    status, body = call(demo, "GET", f"{tags}/green")
    assert (status, body) == (404, sample("024-tenant-check-missing-tag.json")["body"])
    status, body = call(demo, "POST", tags, {"tags": ["green", "red"]})
    assert (status, sorted(body["tags"])) == (201, ["blue", "green", "red"])
    assert sorted(call(demo, "GET", tags)[1]["tags"]) == ["blue", "green", "red"]
    assert call(demo, "DELETE", f"{tags}/green") == (204, None)
    assert call(demo, "DELETE", f"{tags}/green")[0] == 404
    assert call(demo, "DELETE", tags) == (204, None)
    assert call(demo, "GET", tags) == (200, {"tags": []})


def test_tag_changes_bump_the_revision_as_sample_022(call, demo, net):
    network = net()
    call(demo, "PUT", f"{NETS}/{network['id']}/tags/red")
    call(demo, "PUT", f"{NETS}/{network['id']}/tags", {"tags": ["red", "blue"]})
    shown = call(demo, "GET", f"{NETS}/{network['id']}")[1]["network"]
    assert shown["revision_number"] == network["revision_number"] + 2


def test_tag_limits_and_validation(call, demo, net):
    network = net()
    tags = f"{NETS}/{network['id']}/tags"
    assert call(demo, "PUT", tags, {"tags": [f"t{i}" for i in range(51)]})[0] == 400
    assert call(demo, "PUT", tags, {"tags": [f"t{i}" for i in range(50)]})[0] == 200
    assert call(demo, "PUT", tags, {"tags": ["x" * 256]})[0] == 400
    assert call(demo, "PUT", tags, {"tags": "red"})[0] == 400
    assert call(demo, "PUT", tags, {"nottags": []})[0] == 400


def test_tags_of_missing_or_hidden_resources_are_404(call, demo, alt, net):
    network = net()
    assert call(alt, "GET", f"{NETS}/{network['id']}/tags")[0] == 404
    assert call(alt, "PUT", f"{NETS}/{network['id']}/tags/x")[0] == 404
    assert call(demo, "PUT", f"{NETS}/missing/tags/x")[0] == 404


def test_tag_filters(call, demo, net):
    def tagged(*tags):
        network = net()
        call(demo, "PUT", f"{NETS}/{network['id']}/tags", {"tags": list(tags)})
        return network["id"]

    ab, a, b, none = tagged("a", "b"), tagged("a"), tagged("b"), tagged()

    def listed(key, value):
        return sorted(ids(call(demo, "GET", NETS, query=[(key, value)])[1]))

    assert listed("tags", "a,b") == [ab]
    assert listed("tags-any", "a,b") == sorted([ab, a, b])
    assert listed("not-tags", "a,b") == sorted([a, b, none])
    assert listed("not-tags-any", "a,b") == [none]
    assert sorted(ids(call(demo, "GET", NETS, query=[("tags", "a"), ("tags", "b")])[1])) == [ab]
    assert ids(sample("022-tenant-list-networks-by-tag.json")["body"]) and listed("tags", "a") == sorted([ab, a])


# --- revisions and If-Match ------------------------------------------------------------------------
def test_if_match_stale_is_412_as_sample_018(call, demo, net):
    network = net()
    call(demo, "PUT", f"{NETS}/{network['id']}", {"network": {"name": "one"}})
    call(demo, "PUT", f"{NETS}/{network['id']}", {"network": {"name": "two"}})
    status, body = call(demo, "PUT", f"{NETS}/{network['id']}", {"network": {"description": "stale"}}, if_match=1)
    assert (status, body) == (412, sample("018-tenant-update-network-if-match-stale.json")["body"])
    assert call(demo, "PUT", f"{NETS}/{network['id']}", {"network": {"description": "ok"}}, if_match=3)[0] == 200
    assert call(demo, "DELETE", f"{NETS}/{network['id']}", if_match=3)[0] == 412
    assert call(demo, "DELETE", f"{NETS}/{network['id']}", if_match=4)[0] == 204


def test_every_change_bumps_revision_and_updated_at(call, demo, net):
    network = net()
    assert network["revision_number"] == 1 and network["created_at"] == network["updated_at"]
    _, body = call(demo, "PUT", f"{NETS}/{network['id']}", {"network": {"name": "x"}})
    changed = body["network"]
    assert changed["revision_number"] == 2
    assert changed["created_at"] == network["created_at"] and changed["updated_at"] > network["updated_at"]
    assert changed["updated_at"].endswith("Z") and len(changed["updated_at"]) == 20


# --- projects ------------------------------------------------------------------------------------
def test_responses_carry_project_id_and_tenant_id(call, demo, net):
    network = net()
    assert network["project_id"] == network["tenant_id"] == demo.project_id


def test_tenant_id_alone_is_accepted_and_mismatch_is_400(call, demo):
    status, body = call(demo, "POST", NETS, {"network": {"tenant_id": demo.project_id}})
    assert status == 201 and body["network"]["project_id"] == demo.project_id
    status, body = call(demo, "POST", NETS, {"network": {"project_id": demo.project_id, "tenant_id": "other"}})
    assert (status, error(body)) == (400, ("HTTPBadRequest", "'project_id' and 'tenant_id' do not match"))


def test_member_cannot_create_in_another_project(call, demo):
    status, body = call(demo, "POST", NETS, {"network": {"project_id": "alt-project"}})
    assert (status, error(body)[0]) == (400, "HTTPBadRequest")


def test_member_creating_in_another_project_gets_neutrons_message(call, demo):
    _, body = call(demo, "POST", NETS, {"network": {"project_id": "alt-project"}})
    assert error(body)[1] == (
        "Specifying 'project_id' or 'tenant_id' other than the authenticated project in request "
        "requires admin or advsvc privileges"
    )


def test_admin_creates_for_any_project(call, admin, demo):
    status, body = call(admin, "POST", NETS, {"network": {"project_id": demo.project_id}})
    assert status == 201 and body["network"]["tenant_id"] == demo.project_id
    assert ids(call(demo, "GET", NETS)[1]) == [body["network"]["id"]]


# --- discovery -----------------------------------------------------------------------------------
def advertised(plane) -> set[str]:
    aliases = set(CONVENTIONS)
    for service in plane.services.values():
        aliases.update(service.extensions)
    return aliases - {"network"}


def test_extensions_list_exactly_the_advertised_aliases(call, demo, plane):
    status, body = call(demo, "GET", "/v2.0/extensions")
    assert status == 200
    listed = [e["alias"] for e in body["extensions"]]
    assert listed == sorted(advertised(plane))
    for entry in body["extensions"]:
        assert set(entry) == {"name", "alias", "description", "updated", "links"}
        assert (entry["name"], entry["description"]) == CATALOG[entry["alias"]]
        assert entry["links"] == []


def test_one_extension_by_alias_and_unknown_is_404(call, demo):
    status, body = call(demo, "GET", "/v2.0/extensions/pagination")
    assert status == 200 and body["extension"]["alias"] == "pagination"
    status, body = call(demo, "GET", "/v2.0/extensions/no-such-ext")
    assert (status, error(body)) == (404, ("ExtensionNotFound", "Extension with alias no-such-ext does not exist"))
    assert call(demo, "POST", "/v2.0/extensions", {})[0] == 405


def test_resources_document_at_v2_root(call, demo):
    status, body = call(demo, "GET", "/v2.0/")
    assert status == 200
    shape = sample("002-v2-root.json")["body"]["resources"][0]
    for resource in body["resources"]:
        assert set(resource) == set(shape)
        assert resource["links"] == [{"rel": "self", "href": f"{BASE}/v2.0/{resource['collection']}"}]
    assert {"networks", "subnets", "ports"} <= {r["collection"] for r in body["resources"]}
    assert call(demo, "GET", "/v2.0")[0] == 200
    assert call(demo, "POST", "/v2.0/", {})[0] == 405


def test_update_that_changes_nothing_keeps_the_revision(call, demo):
    _, body = call(demo, "POST", "/v2.0/networks", {"network": {"name": "same"}})
    net = body["network"]
    status, body = call(demo, "PUT", f"/v2.0/networks/{net['id']}", {"network": {"name": "same"}})
    assert status == 200 and body["network"]["revision_number"] == net["revision_number"]
    status, body = call(demo, "PUT", f"/v2.0/networks/{net['id']}", {"network": {"name": "other"}})
    assert status == 200 and body["network"]["revision_number"] == net["revision_number"] + 1


def test_update_that_changes_nothing_is_still_policed(call, demo):
    _, body = call(demo, "POST", "/v2.0/networks", {"network": {"name": "mine"}})
    status, body = call(demo, "PUT", f"/v2.0/networks/{body['network']['id']}", {"network": {"shared": False}})
    assert status == 403 and body["NeutronError"]["type"] == "PolicyNotAuthorized"
