"""A member's security-group listing in a cloud of many projects' groups, some shared by RBAC.

Builds a plane with GROUPS groups spread over PROJECTS projects and SHARES access_as_shared entries
(half targeted at the listing project, half wildcard), then times ``GET /v2.0/security-groups`` as
a member of one more project: through the service (its own groups and the shared ones gathered
by index) and, in the same process, the baseline of checking every group's visibility (the scan a
listing without the index does). Prints both medians, the ratio and how many groups were seen.

    python benchmarks/rbac_listing.py [--groups 20000] [--shares 200]
"""

from __future__ import annotations

import argparse

from xloudnet.control.context import Context
from xloudnet.control.neutron import NeutronAPI, Request
from xloudnet.control.plane import ControlPlane

from _timing import median_time

PROJECTS = 100
LISTER = "f" * 32


def build(groups: int, shares: int) -> tuple[ControlPlane, NeutronAPI]:
    plane = ControlPlane(quotas={"security_group": -1, "security_group_rule": -1, "rbac_policy": -1})
    api = NeutronAPI(plane)
    admin = Context.admin("a" * 32)
    made = []
    for i in range(groups):
        body = {"security_group": {"name": f"g{i}", "project_id": f"{i % PROJECTS:032d}"}}
        made.append(api.handle(admin, Request("POST", "/v2.0/security-groups", body=body)).body["security_group"]["id"])
    for n, gid in enumerate(made[:shares]):
        body = {"rbac_policy": {"object_type": "security_group", "object_id": gid, "action": "access_as_shared",
                                "target_tenant": LISTER if n % 2 else "*"}}
        api.handle(admin, Request("POST", "/v2.0/rbac-policies", body=body))
    return plane, api


def median_ms(fn, runs: int = 7) -> float:
    return median_time(fn, runs) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=20000)
    parser.add_argument("--shares", type=int, default=200)
    args = parser.parse_args()
    plane, api = build(args.groups, args.shares)
    member = Context(project_id=LISTER, user_id="u", roles=frozenset({"member", "reader"}))
    service = plane.security_groups
    seen = len(api.handle(member, Request("GET", "/v2.0/security-groups")).body["security_groups"])
    indexed = median_ms(lambda: api.handle(member, Request("GET", "/v2.0/security-groups")))
    table = plane.store.table("security_groups")
    scan = median_ms(lambda: [r for r in table.values() if service.visible(member, r)])
    assert len([r for r in table.values() if service.visible(member, r)]) == seen
    print(f"{args.groups} groups in {PROJECTS} projects, {args.shares} RBAC shares; a member sees {seen}")
    print(f"listing through the index: {indexed:.2f} ms (median of 7, whole API call)")
    print(f"baseline, visibility of every group: {scan:.2f} ms")
    print(f"ratio: {scan / indexed:.1f}x")


if __name__ == "__main__":
    main()
