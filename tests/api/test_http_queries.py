"""List queries over HTTP: filters, sorting, paging links, field selection (spec §1.3–1.6)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from api_helpers import BASE, NET, neutron_error


@pytest.fixture
def networks(demo):
    return [demo.create("networks", "network", {"name": f"q{i}"}) for i in range(5)]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("foo=bar", "['foo'] is invalid attribute for filtering"),
        ("created_at=2020-01-01", "['created_at'] is invalid attribute for filtering"),
        ("sort_key=created_at&sort_dir=asc", "['created_at'] is invalid attribute for sort_keys"),
        ("sort_key=name", "The number of sort_keys and sort_dirs must be same"),
        ("sort_key=name&sort_dir=up", None),
        ("limit=abc", "Limit must be an integer 0 or greater and not 'abc'"),
        ("limit=-1", "Limit must be an integer 0 or greater and not '-1'"),
        ("admin_state_up=maybe", None),
    ],
)
def test_invalid_queries_are_400(demo, query, message):
    response = demo.get(f"/networks?{query}")
    assert response.status_code == 400, response.text
    error = neutron_error(response)
    assert error["type"] == "HTTPBadRequest"
    if message is not None:
        assert error["message"] == message


def test_unknown_marker_is_404(demo, networks):
    response = demo.get("/networks?limit=2&marker=no-such-id")
    assert response.status_code == 404
    assert neutron_error(response)["type"] == "NetworkNotFound"


def test_filters_or_within_a_key_and_across_keys(demo, networks):
    body = demo.get("/networks?name=q1&name=q3&fields=name").json()
    assert sorted(n["name"] for n in body["networks"]) == ["q1", "q3"]
    body = demo.get("/networks?name=q1&admin_state_up=False").json()
    assert body["networks"] == []
    body = demo.get(f"/networks?id={networks[0]['id']}&id={networks[4]['id']}&fields=id").json()
    assert {n["id"] for n in body["networks"]} == {networks[0]["id"], networks[4]["id"]}


def test_fields_selection_on_list_and_show(demo, networks):
    shown = demo.get(f"/networks/{networks[0]['id']}?fields=id&fields=name").json()
    assert shown == {"network": {"id": networks[0]["id"], "name": "q0"}}
    listed = demo.get("/networks?fields=name&fields=status").json()["networks"]
    assert all(set(n) == {"name", "status"} for n in listed)


def test_sorting_with_two_keys(demo, networks):
    body = demo.get("/networks?sort_key=name&sort_dir=desc&sort_key=id&sort_dir=asc&fields=name").json()
    assert [n["name"] for n in body["networks"]] == ["q4", "q3", "q2", "q1", "q0"]


def _marker(href: str) -> tuple[str, bool]:
    query = parse_qs(urlsplit(href).query)
    return query["marker"][0], query.get("page_reverse", ["False"])[0] == "True"


def test_paging_forward_and_back_with_links(demo, networks):
    """Walk forward with ``next`` links, then back with ``previous`` (Neutron's link quirks: a
    first page has ``previous``; a full last page still has ``next``, leading to an empty page)."""
    every = sorted(n["id"] for n in networks)
    url, pages = f"{NET}/networks?limit=2&fields=id", []
    while url:
        body = demo.http.get(url, headers=demo.headers()).json()
        page = [n["id"] for n in body["networks"]]
        pages.append(page)
        links = {link["rel"]: link["href"] for link in body.get("networks_links", [])}
        for href in links.values():
            assert href.startswith(f"{BASE}{NET}/networks?"), href
        if pages == [page]:
            assert "previous" in links, "the first page of a forward listing has a previous link"
        if len(page) == 2:
            assert _marker(links["next"]) == (page[-1], False)
            url = links["next"][len(BASE):]
        else:
            assert "next" not in links
            url = None
        assert len(pages) < 10
    assert pages == [every[0:2], every[2:4], every[4:]]
    back = demo.get(f"/networks?limit=2&marker={every[4]}&page_reverse=True&fields=id").json()
    assert [n["id"] for n in back["networks"]] == every[2:4]
    links = {link["rel"]: link["href"] for link in back["networks_links"]}
    assert _marker(links["previous"]) == (every[2], True)


def test_previous_link_of_an_empty_last_page_walks_back_from_the_end(demo, networks):
    """One per page to the end, one more ``next`` to the empty page, then ``previous`` links all
    the way back: Neutron drops the marker on an empty page, so no item is skipped."""
    every = sorted(n["id"] for n in networks)
    body = demo.get("/networks?limit=1&fields=id").json()
    for _ in range(len(every)):
        links = {link["rel"]: link["href"] for link in body["networks_links"]}
        body = demo.http.get(links["next"][len(BASE):], headers=demo.headers()).json()
    assert body["networks"] == []
    links = {link["rel"]: link["href"] for link in body["networks_links"]}
    assert "next" not in links and "marker" not in parse_qs(urlsplit(links["previous"]).query)
    walked = []
    for _ in range(len(every)):
        body = demo.http.get(links["previous"][len(BASE):], headers=demo.headers()).json()
        walked += [n["id"] for n in body["networks"]]
        links = {link["rel"]: link["href"] for link in body["networks_links"]}
    assert walked == every[::-1]


def test_empty_reverse_page_links_forward_to_the_first_page(demo, networks):
    first = sorted(n["id"] for n in networks)[0]
    body = demo.get(f"/networks?limit=2&marker={first}&page_reverse=True").json()
    assert body["networks"] == []
    links = {link["rel"]: link["href"] for link in body["networks_links"]}
    assert set(links) == {"next"} and "marker" not in parse_qs(urlsplit(links["next"]).query)


def test_project_and_tenant_ids(demo):
    mismatch = demo.post("/networks", json={"network": {"name": "x", "project_id": "a", "tenant_id": "b"}})
    assert mismatch.status_code == 400
    assert neutron_error(mismatch)["message"] == "'project_id' and 'tenant_id' do not match"
    foreign = demo.post("/networks", json={"network": {"name": "x", "project_id": "someone-else"}})
    assert foreign.status_code == 400
    assert neutron_error(foreign)["type"] == "HTTPBadRequest"
    created = demo.create("networks", "network", {"name": "both"})
    assert created["project_id"] == created["tenant_id"]


def test_bulk_create_accepts_both_item_shapes(demo):
    response = demo.post("/networks", json={"networks": [{"name": "b1"}, {"network": {"name": "b2"}}]})
    assert response.status_code == 201, response.text
    assert [n["name"] for n in response.json()["networks"]] == ["b1", "b2"]


def test_tags_api(demo, networks):
    rid = networks[0]["id"]
    assert demo.post(f"/networks/{rid}/tags", json={"tags": ["a", "b"]}).status_code == 201
    replaced = demo.put(f"/networks/{rid}/tags", json={"tags": ["c"]})
    assert (replaced.status_code, replaced.json()) == (200, {"tags": ["c"]})
    added = demo.put(f"/networks/{rid}/tags/d")
    assert (added.status_code, added.content) == (201, b"")
    assert sorted(demo.get(f"/networks/{rid}/tags").json()["tags"]) == ["c", "d"]
    assert demo.get(f"/networks/{rid}/tags/c").status_code == 204
    missing = demo.get(f"/networks/{rid}/tags/zz")
    assert missing.status_code == 404 and neutron_error(missing)["type"] == "TagNotFound"
    too_many = demo.put(f"/networks/{rid}/tags", json={"tags": [str(i) for i in range(51)]})
    assert too_many.status_code == 400
    assert demo.delete(f"/networks/{rid}/tags").status_code == 204
    assert demo.get(f"/networks/{rid}").json()["network"]["tags"] == []
    parent = demo.get("/networks/no-such-network/tags")
    assert parent.status_code == 404
