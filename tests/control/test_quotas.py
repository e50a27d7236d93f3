"""Quotas: limits, enforcement on create, and the /v2.0/quotas API (digest §4.7, sample 061)."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from xloudnet.control import errors
from xloudnet.control.context import Context
from xloudnet.control.neutron import NeutronAPI, Request
from xloudnet.control.plane import ControlPlane
from xloudnet.control.resources.quotas import DEFAULTS

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "neutron"
DIGEST_DEFAULTS = {
    "network": 100, "subnet": 100, "port": 500, "router": 10, "floatingip": 50,
    "security_group": 10, "security_group_rule": 100, "router_route": 30, "rbac_policy": 10,
}


def error(body) -> tuple[str, str]:
    return body["NeutronError"]["type"], body["NeutronError"]["message"]


def make_call(plane: ControlPlane):
    """A ``call`` bound to a plane built with custom quotas (same contract as the fixture)."""
    api = NeutronAPI(plane)

    def do(ctx, method, path, body=None, query=None):
        try:
            response = api.handle(ctx, Request(method, path, query=list(query or []), body=body, base_url="http://h"))
        except errors.NeutronException as exc:
            return exc.status, {"NeutronError": {"type": exc.type, "message": str(exc), "detail": ""}}
        return response.status, response.body

    return do


def limited_plane(**quotas) -> ControlPlane:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ticks = itertools.count()
    return ControlPlane(clock=lambda: start + timedelta(seconds=next(ticks)), quotas=quotas)


# --- limits --------------------------------------------------------------------------------------
def test_member_sees_own_quota_with_sample_061_keys(call, demo):
    status, body = call(demo, "GET", f"/v2.0/quotas/{demo.project_id}")
    expected = json.loads((SAMPLES / "061-tenant-show-own-quota.json").read_text())["response"]
    assert status == expected["status"]
    assert list(body["quota"]) == list(expected["body"]["quota"])
    assert all(isinstance(v, int) for v in body["quota"].values())


def test_defaults_are_neutrons(call, demo):
    _, body = call(demo, "GET", f"/v2.0/quotas/{demo.project_id}")
    assert {k: body["quota"][k] for k in DIGEST_DEFAULTS} == DIGEST_DEFAULTS
    assert body["quota"]["subnetpool"] == -1


def test_plane_overrides_defaults_and_rejects_unknown_names():
    plane = limited_plane(network=3, port=-1)
    assert plane.quotas.limits("any")["network"] == 3
    assert plane.quotas.limits("any")["port"] == -1
    assert plane.quotas.limits("any")["subnet"] == DEFAULTS["subnet"]
    with pytest.raises(ValueError):
        limited_plane(networks=3)


# --- enforcement ---------------------------------------------------------------------------------
def test_creating_past_the_limit_is_409_over_quota(demo):
    call = make_call(limited_plane(network=1))
    assert call(demo, "POST", "/v2.0/networks", {"network": {}})[0] == 201
    status, body = call(demo, "POST", "/v2.0/networks", {"network": {}})
    assert (status, error(body)) == (409, ("OverQuota", "Quota exceeded for resources: ['network']."))


def test_limits_are_per_project(demo, alt):
    call = make_call(limited_plane(network=1))
    assert call(demo, "POST", "/v2.0/networks", {"network": {}})[0] == 201
    assert call(alt, "POST", "/v2.0/networks", {"network": {}})[0] == 201


def test_minus_one_is_unlimited(demo):
    call = make_call(limited_plane(network=-1))
    for _ in range(5):
        assert call(demo, "POST", "/v2.0/networks", {"network": {}})[0] == 201


def test_zero_forbids_any(demo):
    call = make_call(limited_plane(network=0))
    assert call(demo, "POST", "/v2.0/networks", {"network": {}})[0] == 409


def test_bulk_create_past_the_limit_creates_nothing(demo):
    plane = limited_plane(network=2)
    call = make_call(plane)
    status, body = call(demo, "POST", "/v2.0/networks", {"networks": [{"name": "a"}, {"name": "b"}, {"name": "c"}]})
    assert (status, error(body)[0]) == (409, "OverQuota")
    assert len(plane.store.table("networks")) == 0
    assert call(demo, "POST", "/v2.0/networks", {"networks": [{"name": "a"}, {"name": "b"}]})[0] == 201


def test_deleting_frees_quota(demo):
    call = make_call(limited_plane(network=1))
    net = call(demo, "POST", "/v2.0/networks", {"network": {}})[1]["network"]
    assert call(demo, "DELETE", f"/v2.0/networks/{net['id']}")[0] == 204
    assert call(demo, "POST", "/v2.0/networks", {"network": {}})[0] == 201


def test_admin_creating_for_a_project_counts_against_that_project(admin, demo):
    call = make_call(limited_plane(network=1))
    assert call(admin, "POST", "/v2.0/networks", {"network": {"project_id": demo.project_id}})[0] == 201
    assert call(demo, "POST", "/v2.0/networks", {"network": {}})[0] == 409


def test_system_owned_resources_are_not_counted(plane, admin):
    """Router gateway / floating IP ports have project "" in Neutron and count against nobody."""
    plane.quotas.check(admin, "ports", "")
    plane.quotas.check(admin, "qos_policies", "p")  # tables without a quota are never limited


@settings(max_examples=30, deadline=None)
@given(limit=st.integers(0, 6), attempts=st.integers(0, 8))
def test_a_project_never_holds_more_than_its_limit(limit, attempts):
    plane = limited_plane(network=limit)
    ctx = Context("p", roles=frozenset({"member", "reader"}))
    created = 0
    for _ in range(attempts):
        try:
            plane.networks.create(ctx, {})
            created += 1
        except errors.OverQuota:
            pass
    assert created == min(limit, attempts)
    assert plane.quotas.usage("p", "network") == created


# --- API -----------------------------------------------------------------------------------------
def test_admin_sets_a_project_limit_and_it_applies(call, admin, demo, alt):
    status, body = call(admin, "PUT", f"/v2.0/quotas/{demo.project_id}", {"quota": {"network": 1, "router": "4"}})
    assert status == 200
    assert body["quota"]["network"] == 1 and body["quota"]["router"] == 4
    assert body["quota"]["port"] == DEFAULTS["port"]
    assert call(demo, "POST", "/v2.0/networks", {"network": {}})[0] == 201
    assert call(demo, "POST", "/v2.0/networks", {"network": {}})[0] == 409
    assert call(alt, "GET", f"/v2.0/quotas/{alt.project_id}")[1]["quota"]["network"] == DEFAULTS["network"]


def test_members_cannot_change_quotas(call, demo):
    status, body = call(demo, "PUT", f"/v2.0/quotas/{demo.project_id}", {"quota": {"network": 1000}})
    assert (status, error(body)) == (403, ("PolicyNotAuthorized", "rule:update_quota is disallowed by policy"))
    status, body = call(demo, "DELETE", f"/v2.0/quotas/{demo.project_id}")
    assert (status, error(body)) == (403, ("PolicyNotAuthorized", "rule:delete_quota is disallowed by policy"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"quota": {"network": -2}}, "Invalid input for network. Reason: '-2' is too small - must be at least '-1'."),
        ({"quota": {"network": "lots"}}, "Invalid input for network. Reason: 'lots' is not an integer."),
        ({"quota": {"networks": 5}}, "Unrecognized attribute(s) 'networks'"),
        ({"quota": {"network": 2147483648}}, "Invalid input for network. Reason: '2147483648' is too large - must be no larger than '2147483647'."),
        ({"network": 5}, "Unable to find 'quota' in request body"),
        ([1], "Body contains invalid data"),
    ],
)
def test_invalid_quota_updates_are_400(call, admin, body, message):
    status, out = call(admin, "PUT", "/v2.0/quotas/p1", body)
    assert (status, error(out)) == (400, ("HTTPBadRequest", message))


def test_limit_below_usage_needs_force(call, admin, demo):
    call(demo, "POST", "/v2.0/networks", {"networks": [{}, {}]})
    status, body = call(admin, "PUT", f"/v2.0/quotas/{demo.project_id}", {"quota": {"network": 1}})
    assert status == 400
    assert error(body)[1] == "Quota limit 1 for network must be greater than or equal to already used 2"
    status, body = call(admin, "PUT", f"/v2.0/quotas/{demo.project_id}", {"quota": {"network": 1, "force": True}})
    assert (status, body["quota"]["network"]) == (200, 1)
    assert call(admin, "PUT", f"/v2.0/quotas/{demo.project_id}", {"quota": {"network": -1, "check_limit": True}})[0] == 200


def test_reading_another_projects_quota_needs_admin(call, admin, demo):
    status, body = call(demo, "GET", "/v2.0/quotas/alt-project")
    assert (status, error(body)) == (403, ("PolicyNotAuthorized", "rule:get_quota is disallowed by policy"))
    assert call(demo, "GET", "/v2.0/quotas/alt-project/default")[0] == 403
    assert call(admin, "GET", "/v2.0/quotas/alt-project")[0] == 200


def test_default_endpoint_ignores_project_limits(call, admin, demo):
    call(admin, "PUT", f"/v2.0/quotas/{demo.project_id}", {"quota": {"network": 7}})
    _, body = call(demo, "GET", f"/v2.0/quotas/{demo.project_id}/default")
    assert body["quota"] == DEFAULTS


def test_details_report_used_limit_and_reserved(call, demo):
    call(demo, "POST", "/v2.0/networks", {"networks": [{}, {}]})
    status, body = call(demo, "GET", f"/v2.0/quotas/{demo.project_id}/details.json")
    assert status == 200
    assert body["quota"]["network"] == {"limit": DEFAULTS["network"], "used": 2, "reserved": 0}
    assert set(body["quota"]) == set(DEFAULTS)


def test_details_of_another_project_need_admin(call, admin, demo):
    status, body = call(demo, "GET", "/v2.0/quotas/alt-project/details")
    assert status == 403
    assert error(body) == (
        "AdminRequired",
        "User does not have admin privileges: Only admin is authorized to access quotas for another tenant.",
    )
    assert call(admin, "GET", "/v2.0/quotas/alt-project/details")[0] == 200


def test_listing_shows_only_projects_with_their_own_limits(call, admin, demo):
    _, body = call(admin, "GET", "/v2.0/quotas")
    assert body == {"quotas": []}
    call(admin, "PUT", "/v2.0/quotas/p1", {"quota": {"port": 9}})
    _, body = call(admin, "GET", "/v2.0/quotas")
    (entry,) = body["quotas"]
    assert entry["project_id"] == entry["tenant_id"] == "p1" and entry["port"] == 9
    assert entry["network"] == DEFAULTS["network"]
    status, body = call(demo, "GET", "/v2.0/quotas")
    assert (status, error(body)[0]) == (403, "PolicyNotAuthorized")


def test_delete_resets_to_defaults_then_404(call, admin):
    call(admin, "PUT", "/v2.0/quotas/p1", {"quota": {"port": 9}})
    assert call(admin, "DELETE", "/v2.0/quotas/p1") == (204, None)
    assert call(admin, "GET", "/v2.0/quotas/p1")[1]["quota"]["port"] == DEFAULTS["port"]
    status, body = call(admin, "DELETE", "/v2.0/quotas/p1")
    assert (status, error(body)) == (404, ("TenantQuotaNotFound", "Quota for tenant p1 could not be found."))


def test_project_and_tenant_paths_name_the_callers_project(call, demo):
    assert call(demo, "GET", "/v2.0/quotas/project") == (200, {"project": {"project_id": demo.project_id}})
    assert call(demo, "GET", "/v2.0/quotas/tenant") == (200, {"tenant": {"tenant_id": demo.project_id}})
    status, body = call(Context(None, roles=frozenset({"admin"})), "GET", "/v2.0/quotas/project")
    assert (status, error(body)[0]) == (400, "QuotaMissingTenant")


def test_post_on_quotas_is_not_implemented(call, admin):
    status, body = call(admin, "POST", "/v2.0/quotas", {"quota": {}})
    assert (status, error(body)[0]) == (501, "HTTPNotImplemented")


def test_quota_changes_in_a_fork_or_a_failed_request_do_not_leak(plane, admin):
    fork = plane.fork()
    fork.quotas.set_limits(admin, "p1", {"quota": {"network": 1}})
    assert fork.quotas.limit("p1", "network") == 1
    assert plane.quotas.limit("p1", "network") == DEFAULTS["network"]
    with pytest.raises(errors.HTTPBadRequest):
        plane.quotas.set_limits(admin, "p1", {"quota": {"network": 1, "port": -5}})
    assert plane.store.get("quotas", "p1") is None


def test_quota_extensions_are_advertised(call, demo):
    _, body = call(demo, "GET", "/v2.0/extensions")
    aliases = {e["alias"] for e in body["extensions"]}
    assert {"quotas", "quota_details", "quota-check-limit", "quota-check-limit-default"} <= aliases
