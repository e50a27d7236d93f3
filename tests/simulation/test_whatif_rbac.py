"""What-if accepts RBAC entries as changes: sharing a group changes no verdict and costs no
evaluation (an entry acts on forwarding only through the records it changes); an entry the API
would refuse is refused with the API's error."""

from __future__ import annotations


def _project_id(caller) -> str:
    return caller.http.request("GET", "/identity/v3/auth/tokens", headers={
        "X-Auth-Token": caller.token, "X-Subject-Token": caller.token}).json()["token"]["project"]["id"]


def _entry(object_type, object_id, target, action="access_as_shared"):
    return {"method": "POST", "path": "/v2.0/rbac-policies", "body": {"rbac_policy": {
        "object_type": object_type, "object_id": object_id, "action": action, "target_tenant": target}}}


def test_sharing_a_group_in_a_whatif_changes_nothing_and_evaluates_nothing(demo, alt, topo):
    answer = demo.ask("/whatif", {"changes": [_entry("security_group", topo.sg_web, _project_id(alt))],
                                  "protocol": "tcp", "destination_port": 80})
    assert answer["newly_allowed"] == [] and answer["newly_blocked"] == []
    assert answer["evaluated"]["flows"] == 0
    # the fork took the entry; the live cloud did not
    assert alt.neutron("GET", f"/security-groups/{topo.sg_web}").status_code == 404


def test_a_whatif_wildcard_entry_from_a_member_is_refused_as_the_api_refuses_it(alt, topo):
    response = alt.sim("POST", "/whatif", {"changes": [_entry("security_group", topo.sg_web, "*")]})
    assert response.status_code == 403, response.text
    assert response.json()["NeutronError"]["type"] == "PolicyNotAuthorized"
