"""Generated two-project clouds and a sweep of every ``/simulation`` question over them, for the
"no answer names what the caller cannot see" property.

``build_cloud(admin, demo, alt, plan)`` provisions, through the networking API only, a cloud
drawn by ``plans()``: an external network; optionally a shared network of admin's (behind an
admin router) and a shared network of alt_demo's, either of them carrying a QoS policy that
belongs to its owner; each project's own network, ports (some on the shared networks), groups
with remote-group and prefix rules, routers, floating IPs and per-port QoS policies; optionally
a group of demo's shared by RBAC (with alt_demo alone, or by admin with everybody) that one of
alt_demo's ports uses, whose rules name demo's private group as their remote group.

``sweep(caller)`` asks every question a caller can ask about what it sees and returns the
answers' bodies; ``visible_ids(caller)`` lists every id the networking API shows that caller.
"""

from __future__ import annotations

import time

from hypothesis import strategies as st
from sim_helpers import Caller

EXTERNAL_HOST = "198.51.100.7"
QOS_KINDS = (None, "dscp", "bandwidth", "both")
GROUP_SHARING = (None, "targeted", "wildcard")  # how demo's group reaches alt_demo (rbac-security-groups)


def plans():
    project = st.fixed_dictionaries({
        "router": st.booleans(),
        "floating_ip": st.booleans(),
        "port_forwarding": st.booleans(),
        "own_ports": st.integers(1, 2),
        "shared_ports": st.integers(0, 2),
        "alt_shared_ports": st.integers(0, 1),
        "remote_group_rule": st.booleans(),
        "address_group_rule": st.booleans(),
        "port_qos": st.sampled_from(QOS_KINDS),
    })
    return st.fixed_dictionaries({
        "admin_shared": st.booleans(),
        "admin_qos": st.sampled_from(QOS_KINDS),
        "alt_shared": st.booleans(),
        "alt_shared_qos": st.sampled_from(QOS_KINDS),
        "scoped": st.booleans(),  # public and tenant subnets from pools of one address scope
        "demo_shares_group": st.sampled_from(GROUP_SHARING),
        "demo": project,
        "alt": project,
    })


def _ok(response, status=(200, 201)):
    assert response.status_code in status, response.text
    return response.json() if response.status_code != 204 else None


def _policy(admin: Caller, project_id: str, kind: str | None) -> str | None:
    """A QoS policy owned by ``project_id`` (not shared) with the rules ``kind`` names."""
    if kind is None:
        return None
    policy = admin.create("qos/policies", "policy", {"name": f"qos-{kind}", "project_id": project_id})
    base = f"/qos/policies/{policy['id']}"
    if kind in ("dscp", "both"):
        _ok(admin.neutron("POST", f"{base}/dscp_marking_rules", {"dscp_marking_rule": {"dscp_mark": 46}}))
    if kind in ("bandwidth", "both"):
        _ok(admin.neutron("POST", f"{base}/bandwidth_limit_rules",
                          {"bandwidth_limit_rule": {"max_kbps": 8000, "max_burst_kbps": 800}}))
    return policy["id"]


def _project_id(caller: Caller) -> str:
    return caller.http.request("GET", "/identity/v3/auth/tokens", headers={
        "X-Auth-Token": caller.token, "X-Subject-Token": caller.token}).json()["token"]["project"]["id"]


def _network(owner: Caller, name: str, cidr: str, pool: str | None = None, **attrs) -> tuple[str, str]:
    net = owner.create("networks", "network", {"name": name, **attrs})
    where = {"subnetpool_id": pool, "prefixlen": 24} if pool else {"cidr": cidr}
    sub = owner.create("subnets", "subnet", {"network_id": net["id"], "ip_version": 4, **where,
                                             **({"project_id": attrs["project_id"]} if "project_id" in attrs else {})})
    return net["id"], sub["id"]


def _scope(admin: Caller) -> tuple[str, str]:
    """A shared address scope with a pool for the public subnet and one for tenant subnets."""
    scope = admin.create("address-scopes", "address_scope", {"name": "bgp", "ip_version": 4, "shared": True})
    pools = [admin.create("subnetpools", "subnetpool", {"name": name, "prefixes": [prefix], "shared": True,
                                                        "address_scope_id": scope["id"]})["id"]
             for name, prefix in (("public-pool", "203.0.113.0/24"), ("tenant-pool", "10.0.0.0/16"))]
    return pools[0], pools[1]


def _router(owner: Caller, name: str, public: str, subnet: str, **attrs) -> str:
    router = owner.create("routers", "router", {"name": name, "external_gateway_info": {"network_id": public},
                                                **attrs})
    _ok(owner.neutron("PUT", f"/routers/{router['id']}/add_router_interface", {"subnet_id": subnet}))
    return router["id"]


def build_cloud(admin: Caller, demo: Caller, alt: Caller, plan: dict) -> dict:
    """Provision ``plan``; returns the ids and addresses the sweep uses."""
    public = admin.create("networks", "network", {"name": "public", "router:external": True})
    public_pool, tenant_pool = _scope(admin) if plan.get("scoped") else (None, None)
    admin.create("subnets", "subnet", {"network_id": public["id"], "cidr": "203.0.113.0/24", "ip_version": 4,
                                       "gateway_ip": "203.0.113.1",
                                       **({"subnetpool_id": public_pool} if public_pool else {})})
    ids = {"demo": _project_id(demo), "alt": _project_id(alt)}
    shared = {}
    if plan["admin_shared"]:
        net, sub = _network(admin, "shared", "172.16.0.0/24", shared=True)
        _router(admin, "r-shared", public["id"], sub)
        policy = _policy(admin, _project_id(admin), plan["admin_qos"])
        if policy:
            _ok(admin.neutron("PUT", f"/networks/{net}", {"network": {"qos_policy_id": policy}}))
        shared["admin"] = net
    if plan["alt_shared"]:
        net, _ = _network(admin, "alt-shared", "172.17.0.0/24", shared=True, project_id=ids["alt"])
        policy = _policy(admin, ids["alt"], plan["alt_shared_qos"])
        if policy:
            _ok(admin.neutron("PUT", f"/networks/{net}", {"network": {"qos_policy_id": policy}}))
        shared["alt"] = net
    for who, caller in (("demo", demo), ("alt", alt)):
        _project(admin, caller, who, {**plan[who], "tenant_pool": tenant_pool}, public["id"], shared, ids[who])
    if plan.get("demo_shares_group"):
        share_group(admin, demo, alt, ids["alt"], plan["demo_shares_group"])
    return {"public": public["id"]}


def share_group(admin: Caller, demo: Caller, alt: Caller, alt_project: str, how: str) -> dict:
    """demo's ``demo-shared`` group (https from anywhere, udp from demo's private ``demo-web``
    members) shared with alt_demo (``targeted``) or everybody (``wildcard``, which only admins
    may grant), and an alt_demo port on alt's own network using it."""
    private = _ok(demo.neutron("GET", "/security-groups?name=demo-web"))["security_groups"][0]
    group = demo.create("security-groups", "security_group", {"name": "demo-shared"})
    rule = {"security_group_id": group["id"], "direction": "ingress", "ethertype": "IPv4"}
    https = demo.create("security-group-rules", "security_group_rule",
                        dict(rule, protocol="tcp", port_range_min=443, port_range_max=443, remote_ip_prefix="0.0.0.0/0"))
    demo.create("security-group-rules", "security_group_rule", dict(rule, protocol="udp", remote_group_id=private["id"]))
    grantor, target = (demo, alt_project) if how == "targeted" else (admin, "*")
    grantor.create("rbac-policies", "rbac_policy", {"object_type": "security_group", "object_id": group["id"],
                                                     "action": "access_as_shared", "target_tenant": target})
    network = _ok(alt.neutron("GET", "/networks?name=alt-net"))["networks"][0]
    port = alt.create("ports", "port", {"name": "alt-on-shared-group", "network_id": network["id"],
                                        "security_groups": [group["id"]], "device_owner": "compute:nova",
                                        "device_id": "alt-on-shared-group"})
    return {"group": group["id"], "private": private["id"], "https_rule": https["id"], "port": port["id"]}


def _project(admin: Caller, caller: Caller, who: str, plan: dict, public: str, shared: dict, project: str) -> None:
    group = caller.create("security-groups", "security_group", {"name": f"{who}-web"})
    rule = {"security_group_id": group["id"], "direction": "ingress", "ethertype": "IPv4"}
    caller.create("security-group-rules", "security_group_rule",
                  dict(rule, protocol="tcp", port_range_min=22, port_range_max=22, remote_ip_prefix="0.0.0.0/0"))
    caller.create("security-group-rules", "security_group_rule", dict(rule, protocol="icmp"))
    if plan["remote_group_rule"]:
        caller.create("security-group-rules", "security_group_rule",
                      dict(rule, protocol="udp", remote_group_id=group["id"]))
    if plan.get("address_group_rule"):  # (hand-written plans may leave it out)
        ag = caller.create("address-groups", "address_group", {"name": f"{who}-ops",
                                                               "addresses": ["10.0.0.0/24", "203.0.113.0/24"]})
        caller.create("security-group-rules", "security_group_rule",
                      dict(rule, protocol="tcp", port_range_min=5432, port_range_max=5432,
                           remote_address_group_id=ag["id"]))
    net, sub = _network(caller, f"{who}-net", "10.0.0.0/24", pool=plan.get("tenant_pool"))
    if plan["router"]:
        _router(caller, f"{who}-r", public, sub)
    where = [net] * plan["own_ports"] + [shared.get("admin")] * plan["shared_ports"] \
        + [shared.get("alt")] * plan["alt_shared_ports"]
    ports = []
    for i, network in enumerate(n for n in where if n):
        ports.append(caller.create("ports", "port", {
            "name": f"{who}-vm{i}", "network_id": network, "security_groups": [group["id"]],
            "device_owner": "compute:nova", "device_id": f"{who}-vm{i}"}))
    policy = _policy(admin, project, plan["port_qos"])
    if policy and ports:
        _ok(admin.neutron("PUT", f"/ports/{ports[0]['id']}", {"port": {"qos_policy_id": policy}}))
    if plan["router"] and plan["floating_ip"] and ports and ports[0]["network_id"] == net:
        caller.create("floatingips", "floatingip", {"floating_network_id": public, "port_id": ports[0]["id"]})
    _port_forwarding(caller, plan, public, [p for p in ports[1:] if p["network_id"] == net])


def _port_forwarding(caller: Caller, plan: dict, public: str, ports: list) -> None:
    """A floating IP forwarding tcp 2222 to port 22 of a port without a floating IP of its own."""
    if not (plan["router"] and plan.get("port_forwarding") and ports):
        return
    fip = caller.create("floatingips", "floatingip", {"floating_network_id": public})
    _ok(caller.neutron("POST", f"/floatingips/{fip['id']}/port_forwardings", {"port_forwarding": {
        "internal_port_id": ports[0]["id"], "internal_ip_address": ports[0]["fixed_ips"][0]["ip_address"],
        "protocol": "tcp", "external_port": 2222, "internal_port": 22}}))


# --- what a caller sees through the networking API --------------------------------------------

COLLECTIONS = (("networks", "networks"), ("subnets", "subnets"), ("ports", "ports"), ("routers", "routers"),
               ("floatingips", "floatingips"), ("security-groups", "security_groups"),
               ("security-group-rules", "security_group_rules"), ("qos/policies", "policies"),
               ("address-groups", "address_groups"), ("subnetpools", "subnetpools"),
               ("address-scopes", "address_scopes"))


def visible_ids(caller: Caller) -> set[str]:
    """Every id the networking API shows ``caller`` (QoS rules through their policies, security
    group rules through their groups)."""
    seen: set[str] = set()
    for path, key in COLLECTIONS:
        for record in _ok(caller.neutron("GET", f"/{path}"))[key]:
            seen.add(record["id"])
            seen.update(r["id"] for r in record.get("rules") or [])
            # A group's body shows its rules (a group shared with the caller included).
            seen.update(r["id"] for r in record.get("security_group_rules") or [])
            seen.update(f["id"] for f in record.get("port_forwardings") or [])
    return seen


def all_ids(admin: Caller) -> set[str]:
    return visible_ids(admin)


# --- every question --------------------------------------------------------------------------

def sweep(caller: Caller) -> list[tuple[str, object]]:
    """``(label, body)`` of every answer ``caller`` gets to the questions about what it sees."""
    out = []

    def ask(label, method, path, body=None, status=200):
        response = caller.sim(method, path, body)
        assert response.status_code == status or 400 <= response.status_code < 500, \
            (label, response.status_code, response.text)
        out.append((label, response.json() if response.content else None))
        return response

    matrix = ask("matrix", "POST", "/reachability/matrix", {"protocol": "icmp"}).json()
    ports = matrix["sources"]
    fips = [f["floating_ip_address"] for f in _ok(caller.neutron("GET", "/floatingips"))["floatingips"]]
    everyone = _ok(caller.neutron("GET", "/ports"))["ports"]
    addresses = sorted({ip["ip_address"] for p in everyone for ip in p["fixed_ips"]})
    targets = [{"port_id": p} for p in ports] + [{"ip_address": a} for a in addresses + fips + [EXTERNAL_HOST]]
    for source in ports:
        for target in targets:
            if target.get("port_id") == source:
                continue
            ask("reach", "POST", "/reachability", {"source": {"port_id": source}, "destination": target,
                                                   "protocol": "tcp", "destination_port": 22})
        ask("allowed", "POST", "/reachability", {"source": {"port_id": source},
                                                 "destination": {"ip_address": EXTERNAL_HOST}})
        ask("sgtest", "POST", "/security-groups/test", {"port_id": source, "direction": "ingress", "protocol": "tcp",
                                                        "destination_port": 22, "remote_ip_address": "10.0.0.9"})
    for fip in fips:
        ask("inbound", "POST", "/reachability", {"source": {"ip_address": EXTERNAL_HOST},
                                                 "destination": {"ip_address": fip}, "protocol": "icmp"})
        ask("forwarded", "POST", "/reachability", {"source": {"ip_address": EXTERNAL_HOST},
                                                   "destination": {"ip_address": fip}, "protocol": "tcp",
                                                   "destination_port": 2222})
    for address in addresses:  # tenant space the upstream routes (address scopes) or not
        ask("inbound-fixed", "POST", "/reachability", {"source": {"ip_address": EXTERNAL_HOST},
                                                       "destination": {"ip_address": address}, "protocol": "icmp"})
    ask("lint", "GET", "/security-groups/lint")
    rules = [r for r in _ok(caller.neutron("GET", "/security-group-rules"))["security_group_rules"]
             if r["direction"] == "ingress" and r["protocol"] == "tcp"]
    if rules:
        ask("whatif", "POST", "/whatif", {"changes": [
            {"method": "DELETE", "path": f"/v2.0/security-group-rules/{rules[0]['id']}"}]})
    if ports:
        destination = targets[1] if len(targets) > 1 else {"ip_address": EXTERNAL_HOST}
        flows = [{"source": {"port_id": ports[0]}, "destination": destination, "protocol": "udp",
                  "destination_port": 22, "rate_kbps": 500, "packet_size": 500},
                 {"source": {"port_id": ports[-1]}, "destination": {"ip_address": EXTERNAL_HOST},
                  "protocol": "udp", "destination_port": 5001, "rate_kbps": 500, "packet_size": 500}]
        started = ask("job", "POST", "/simulations", {"flows": flows, "duration_s": 0.2, "seed": 1}, status=202)
        if started.status_code == 202:
            view = _finished_job(caller, started.json()["simulation"]["id"])
            out.append(("job-result", view))
            ask("jobs", "GET", "/simulations")
        _qos_whatif(caller, ask, out, flows)
    return out


def _finished_job(caller: Caller, job: str) -> dict:
    """The job's view once it has finished (within 30 s), asserted ``ACTIVE``."""
    deadline = time.monotonic() + 30
    while True:
        view = _ok(caller.sim("GET", f"/simulations/{job}"))["simulation"]
        if view["status"] in ("ACTIVE", "ERROR") or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert view["status"] == "ACTIVE", view
    return view


def _qos_whatif(caller: Caller, ask, out: list, flows: list) -> None:
    """The same flows before and after moving the caller's own ports off their QoS policies (a
    change every project may make): the job and its before/after result."""
    project = _project_id(caller)
    mine = [p for p in _ok(caller.neutron("GET", "/ports"))["ports"]
            if p["project_id"] == project and not p["device_owner"].startswith("network:")]
    if not mine:
        return
    changes = [{"method": "PUT", "path": f"/v2.0/ports/{p['id']}", "body": {"port": {"qos_policy_id": None}}}
               for p in mine]
    started = ask("qos-whatif", "POST", "/simulations", {"flows": flows, "duration_s": 0.2, "seed": 1,
                                                          "changes": changes}, status=202)
    if started.status_code != 202:
        return
    view = _finished_job(caller, started.json()["simulation"]["id"])
    assert {"before", "after", "flows"} <= set(view["result"])
    out.append(("qos-whatif-result", view))


def leaks(answers: list[tuple[str, object]], hidden: set[str]) -> list[tuple[str, str]]:
    """``(label, id)`` for every hidden id found anywhere in an answer's JSON."""
    import json

    found = []
    for label, body in answers:
        text = json.dumps(body)
        found += [(label, rid) for rid in hidden if rid in text]
    return found
