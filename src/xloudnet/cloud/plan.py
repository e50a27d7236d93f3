"""What ``xloudnet apply`` would do: the scenario compared with the cloud, as ordered steps.

The order is the provisioning order of ``xloudnet run``: QoS policies, networks, subnets, address
groups, security groups, then their rules (a rule may name any group), ports and servers, routers with their
interfaces and extra routes, floating IPs; a resource's RBAC shares (``shared_with``) follow the
resources of its kind. See ``planner`` for matching and comparison.
"""

from __future__ import annotations

import ipaddress
import uuid

from ..scenarios.provision import SERVER_OWNER
from ..scenarios.schema import Scenario
from .importer import INTERFACE_OWNERS
from .inventory import Inventory
from .planner import ApplyError, Planner, Step, differing, rule_signature

__all__ = ["ApplyError", "Step", "plan"]

# A server's port gets a device id stable per (project, server name), so a second apply finds it
# unchanged; uuid-shaped, as Nova's are.
SERVER_NAMESPACE = uuid.UUID("0f6b1f0e-8a5e-4c7a-9b57-3c1d2e4f5a60")


def plan(scenario: Scenario, inventory: Inventory, conn=None) -> list[Step]:
    """The steps that make the cloud hold ``scenario`` (``conn`` is used only when they run)."""
    p = Planner(scenario, inventory, conn)
    p.project_steps()
    for section in (_qos_policies, _qos_shares, _address_scopes, _subnet_pools, _networks, _network_shares,
                    _subnets, _address_groups, _address_group_shares, _security_groups, _group_shares, _ports,
                    _routers, _floating_ips):
        section(p)
    return p.out


def _qos_shares(p: Planner) -> None:
    _shares(p, "qos_policies", "qos_policy", "QoS policy")


def _network_shares(p: Planner) -> None:
    _shares(p, "networks", "network", "network")


def _address_group_shares(p: Planner) -> None:
    _shares(p, "address_groups", "address_group", "address group")


def _group_shares(p: Planner) -> None:
    _shares(p, "security_groups", "security_group", "security group")


def _shares(p: Planner, section: str, object_type: str, kind: str) -> None:
    """One step per ``shared_with`` project: an access_as_shared RBAC entry, unless the cloud
    already holds it (a new resource has none)."""
    for i, item in enumerate(getattr(p.s, section)):
        owner = p.project_of(item)[0]
        for k, name in enumerate(item.shared_with):
            where, label = f"{section}[{i}].shared_with[{k}]", f"{kind} {item.name} with {name}"
            target = "*" if name == "*" else p.projects.get(name)
            current = p.ids.get((section, i))
            if current is not None and target is not None and any(
                    e.get("object_id") == current and e.get("action") == "access_as_shared"
                    and (e.get("target_tenant") or e.get("target_project")) == target for e in p.inv.rbac_policies):
                p.out.append(Step("unchanged", "RBAC share", label, owner, "", where))
                continue

            def run(i=i, name=name) -> None:
                body = {"object_type": object_type, "object_id": p.ids[(section, i)], "action": "access_as_shared",
                        "target_tenant": "*" if name == "*" else p.projects[name]}
                owner_id = p.project_of(getattr(p.s, section)[i])[1]
                if owner_id is not None and owner_id != p.inv.project_id:
                    body["project_id"] = owner_id  # admin acting for the owner
                p.send("post", "/rbac-policies", {"rbac_policy": body})
            p.out.append(Step("create", "RBAC share", label, owner, "", where, run))


def _qos_policies(p: Planner) -> None:
    for i, policy in enumerate(p.s.qos_policies):
        def desired(policy=policy) -> dict:
            return {"name": policy.name, "description": policy.description, "shared": policy.shared,
                    "is_default": policy.is_default}
        existing = p.resource("QoS policy", "qos_policies", i, policy, desired)
        current = list((existing or {}).get("rules") or [])
        for j, rule in enumerate(policy.rules):
            fields = rule.model_dump(exclude_none=True, exclude={"id", "type"})
            # Neutron's rules default to egress; a file that names no direction means that one
            direction = fields.get("direction")
            wanted = (direction,) if direction else (None, "egress")
            same = [r for r in current if r.get("type") == rule.type and r.get("direction") in wanted]
            where, label = f"qos_policies[{i}].rules[{j}]", f"{rule.type} of {policy.name}"
            project = p.project_of(policy)[0]
            if same and not differing(fields, same[0]):
                p.out.append(Step("unchanged", "QoS rule", label, project, "", where))
                continue

            def run(i=i, rule=rule, fields=fields, same=same) -> None:
                pid = p.ids[("qos_policies", i)]
                base = f"/qos/policies/{pid}/{rule.type}_rules"
                if same:
                    p.send("put", f"{base}/{same[0]['id']}", {f"{rule.type}_rule": fields})
                else:
                    p.send("post", base, {f"{rule.type}_rule": fields})
            verb = "update" if same else "create"
            p.out.append(Step(verb, "QoS rule", label, project, ", ".join(sorted(fields)), where, run))


def _address_scopes(p: Planner) -> None:
    for i, scope in enumerate(p.s.address_scopes):
        def desired(scope=scope) -> dict:
            return {"name": scope.name, "shared": scope.shared}

        def create_body(body: dict, scope=scope) -> dict:
            body = {k: v for k, v in body.items() if k != "shared" or v}  # shared is admin-only even when false
            return {**body, "ip_version": scope.ip_version}
        p.resource("address scope", "address_scopes", i, scope, desired, create_body)


def _subnet_pools(p: Planner) -> None:
    for i, pool in enumerate(p.s.subnet_pools):
        def desired(pool=pool) -> dict:
            body = pool.model_dump(include={"name", "description", "is_default"})
            # Neutron shows prefix lengths as strings (and takes either)
            body.update({k: str(v) for k, v in pool.model_dump(
                include={"default_prefixlen", "min_prefixlen", "max_prefixlen"}, exclude_none=True).items()})
            body["address_scope_id"] = p.ref("address scope", pool.address_scope, pool)
            return body

        def create_body(body: dict, pool=pool) -> dict:
            body = {k: v for k, v in body.items() if k not in ("is_default", "address_scope_id")}
            body.update({k: v for k, v in (("shared", pool.shared), ("is_default", pool.is_default)) if v})
            if pool.address_scope:
                body["address_scope_id"] = p.need("address scope", pool.address_scope, pool)
            return {**body, "prefixes": list(pool.prefixes)}
        p.resource("subnet pool", "subnet_pools", i, pool, desired, create_body)


def _networks(p: Planner) -> None:
    for i, net in enumerate(p.s.networks):
        def desired(net=net) -> dict:
            body = {"name": net.name, "description": net.description, "admin_state_up": net.admin_state_up,
                    "port_security_enabled": net.port_security_enabled, "shared": net.shared,
                    "router:external": net.external, "qos_policy_id": p.ref("QoS policy", net.qos_policy, net)}
            if net.mtu is not None:
                body["mtu"] = net.mtu
            return body

        def create_body(body: dict, net=net) -> dict:
            # shared and router:external are admin-only even when false, qos_policy_id needs the
            # QoS extension: sent only when set
            body = {k: v for k, v in body.items() if k not in ("shared", "router:external", "qos_policy_id")}
            body.update({k: v for k, v in (("shared", net.shared), ("router:external", net.external)) if v})
            if net.qos_policy:
                body["qos_policy_id"] = p.need("QoS policy", net.qos_policy, net)
            return body
        p.resource("network", "networks", i, net, desired, create_body)


def _subnets(p: Planner) -> None:
    for i, sub in enumerate(p.s.subnets):
        def desired(sub=sub) -> dict:
            body = {"name": sub.name, "description": sub.description, "enable_dhcp": sub.enable_dhcp,
                    "dns_nameservers": list(sub.dns_nameservers),
                    "host_routes": [r.model_dump() for r in sub.host_routes]}
            if sub.gateway_ip != "auto":
                body["gateway_ip"] = sub.gateway_ip
            if sub.allocation_pools is not None:
                body["allocation_pools"] = [a.model_dump() for a in sub.allocation_pools]
            return body

        def create_body(desired: dict, sub=sub) -> dict:
            body = {**desired, "network_id": p.need("network", sub.network, sub), "cidr": sub.cidr,
                    "ip_version": sub.ip_version or ipaddress.ip_network(sub.cidr, strict=False).version}
            body.update({k: getattr(sub, k) for k in ("ipv6_ra_mode", "ipv6_address_mode") if getattr(sub, k)})
            if sub.subnet_pool:
                body["subnetpool_id"] = p.need("subnet pool", sub.subnet_pool, sub)
            return body
        p.resource("subnet", "subnets", i, sub, desired, create_body)


def _address_groups(p: Planner) -> None:
    """Name and description by update; the addresses through ``add_addresses`` /
    ``remove_addresses`` (Neutron does not let ``addresses`` be updated)."""
    for i, ag in enumerate(p.s.address_groups):
        existing = p.resource("address group", "address_groups", i, ag,
                              lambda ag=ag: {"name": ag.name, "description": ag.description},
                              create_body=lambda body, ag=ag: {**body, "addresses": list(ag.addresses)})
        if existing is None:
            continue
        wanted = {str(ipaddress.ip_network(a, strict=False)) for a in ag.addresses}
        have = set(existing.get("addresses") or ())
        if wanted == have:
            continue

        def edit(rid=existing["id"], add=sorted(wanted - have), remove=sorted(have - wanted)) -> None:
            if add:
                p.send("put", f"/address-groups/{rid}/add_addresses", {"addresses": add})
            if remove:
                p.send("put", f"/address-groups/{rid}/remove_addresses", {"addresses": remove})
        p.out.append(Step("update", "address group", ag.name, p.project_of(ag)[0], "addresses",
                          f"address_groups[{i}].addresses", edit))


def _security_groups(p: Planner) -> None:
    existing_groups = {}
    for i, group in enumerate(p.s.security_groups):
        if group.name == "default":
            existing_groups[i] = _default_group(p, i, group)
            continue

        def drop_egress(gid: str, group=group) -> None:
            if not group.keep_default_egress:
                _drop_default_egress(p, gid)
        existing_groups[i] = p.resource(
            "security group", "security_groups", i, group,
            lambda group=group: {"name": group.name, "description": group.description, "stateful": group.stateful},
            after_create=drop_egress)
    for i, group in enumerate(p.s.security_groups):  # rules after every group: they may name any of them
        _rules(p, i, group, existing_groups[i])


def _default_group(p: Planner, i: int, group) -> dict | None:
    """The project's own ``default`` group: never created, only its rules and tags are applied."""
    name, pid = p.project_of(group)
    where = f"security_groups[{i}]"
    if pid is None:  # a project apply creates: its default group exists once it does

        def find() -> None:
            gid = p.default_group(p.project_of(group)[1])
            if gid is None:
                raise ApplyError(f"{where}: project '{name}' has no default security group")
            p.ids[("security_groups", i)] = gid
            if group.tags:
                p.put_tags("security group", gid, list(group.tags))
        p.out.append(Step("update" if group.tags else "unchanged", "security group", "default", name, "", where, find))
        return None
    gid = p.default_group(pid)
    existing = next((g for g in p.inv.security_groups if g["id"] == gid), None)
    if gid is None:
        raise ApplyError(f"{where}: project '{name}' has no default security group visible to these credentials")
    p.ids[("security_groups", i)] = gid
    tags = sorted(group.tags)
    if existing is not None and tags != sorted(existing.get("tags") or []):
        p.out.append(Step("update", "security group", "default", name, "tags", where,
                          lambda: p.put_tags("security group", gid, tags)))
    else:
        p.out.append(Step("unchanged", "security group", "default", name, "", where))
    return existing


def _rules(p: Planner, i: int, group, existing: dict | None) -> None:
    name = p.project_of(group)[0]
    current = list((existing or {}).get("security_group_rules") or [])
    have = {rule_signature(r) for r in current}
    for j, rule in enumerate(group.rules):
        def body(rule=rule, group=group) -> dict:
            out = rule.model_dump(exclude_none=True, exclude={"id", "remote_group", "remote_address_group"})
            out["remote_group_id"] = p.ref("security group", rule.remote_group, group)
            if rule.remote_address_group is not None:
                out["remote_address_group_id"] = p.ref("address group", rule.remote_address_group, group)
            return out
        where = f"security_groups[{i}].rules[{j}]"
        label = f"{group.name}: {_describe_rule(rule)}"
        known = (rule.remote_group is None or p.ref("security group", rule.remote_group, group) is not None) and (
            rule.remote_address_group is None or p.ref("address group", rule.remote_address_group, group) is not None)
        if existing is not None and known and rule_signature(body()) in have:
            p.out.append(Step("unchanged", "security group rule", label, name, "", where))
            continue

        def run(rule=rule, group=group, i=i, body=body) -> None:
            made = {**body(), "security_group_id": p.ids[("security_groups", i)]}
            made["remote_group_id"] = p.need("security group", rule.remote_group, group)
            if rule.remote_address_group is not None:
                made["remote_address_group_id"] = p.need("address group", rule.remote_address_group, group)
            p.send("post", "/security-group-rules", {"security_group_rule": made})
        p.out.append(Step("create", "security group rule", label, name, "", where, run))
    egress = [r for r in current if _is_default_egress(r)]
    if existing is not None and not group.keep_default_egress and egress:
        p.out.append(Step("update", "security group", group.name, name, "remove the allow-all egress pair",
                          f"security_groups[{i}].keep_default_egress",
                          lambda egress=egress: [p.send("delete", f"/security-group-rules/{r['id']}") for r in egress]))


def _is_default_egress(rule: dict) -> bool:
    return rule["direction"] == "egress" and rule_signature(rule)[2:] == (None,) * 6


def _drop_default_egress(p: Planner, gid: str) -> None:
    group = p.get(f"/security-groups/{gid}")["security_group"]
    for rule in group.get("security_group_rules") or []:
        if _is_default_egress(rule):
            p.send("delete", f"/security-group-rules/{rule['id']}")


def _describe_rule(rule) -> str:
    ports = ""
    if rule.port_range_min is not None:
        ports = f"/{rule.port_range_min}" + (f"-{rule.port_range_max}" if rule.port_range_max != rule.port_range_min else "")
    remote = rule.remote_ip_prefix or (f"group {rule.remote_group}" if rule.remote_group else
                                       f"address group {rule.remote_address_group}" if rule.remote_address_group else "any")
    return f"{rule.direction} {rule.ethertype} {rule.protocol or 'any'}{ports} from {remote}"


def _ports(p: Planner) -> None:
    for section in ("ports", "servers"):
        for i, port in enumerate(getattr(p.s, section)):
            p.resource("port", section, i, port, lambda port=port, section=section: _port_body(p, port, section),
                       lambda body, port=port: _port_create_body(p, port, body))


def _port_body(p: Planner, port, section: str) -> dict:
    body = {"name": port.name, "description": port.description, "admin_state_up": port.admin_state_up,
            "allowed_address_pairs": [a.model_dump(exclude_none=True) for a in port.allowed_address_pairs],
            "qos_policy_id": p.ref("QoS policy", port.qos_policy, port)}
    if section == "servers":
        body["device_owner"] = SERVER_OWNER
        body["device_id"] = str(uuid.uuid5(SERVER_NAMESPACE, f"{p.project_of(port)[0]}/{port.name}"))
    elif port.device_owner in INTERFACE_OWNERS:  # (a port: the servers branch is above)
        pass  # made unattached, then attached by its router: owner and device are the router's business
    elif port.device_owner or port.device_id:
        body["device_owner"], body["device_id"] = port.device_owner, port.device_id
    if port.security_groups is not None:
        body["security_groups"] = [p.ref("security group", g, port) for g in port.security_groups]
    if port.port_security_enabled is not None:
        body["port_security_enabled"] = port.port_security_enabled
    return body


def _port_create_body(p: Planner, port, desired: dict) -> dict:
    body = {k: v for k, v in desired.items() if k != "qos_policy_id"}
    body["network_id"] = p.need("network", port.network, port)
    if port.qos_policy:
        body["qos_policy_id"] = p.need("QoS policy", port.qos_policy, port)
    if port.security_groups is not None:
        body["security_groups"] = [p.need("security group", g, port) for g in port.security_groups]
    if port.fixed_ips is not None:
        body["fixed_ips"] = [{k: v for k, v in (("subnet_id", p.need("subnet", f.subnet, port)),
                                                ("ip_address", f.ip_address)) if v} for f in port.fixed_ips]
    if port.mac_address:
        body["mac_address"] = port.mac_address
    if getattr(port, "device_owner", "") in INTERFACE_OWNERS:  # servers have none
        body["device_owner"] = port.device_owner
    return body


def _routers(p: Planner) -> None:
    for i, router in enumerate(p.s.routers):
        existing = p.resource("router", "routers", i, router, lambda router=router: _router_body(p, router),
                              lambda body, router=router: _router_create_body(p, router, body))
        name = p.project_of(router)[0]
        attached = [q for q in p.inv.ports if existing and q.get("device_id") == existing["id"]
                    and q.get("device_owner") in INTERFACE_OWNERS]
        on_subnets = {f.get("subnet_id") for q in attached for f in q.get("fixed_ips") or []}
        attached_ports = {q["id"] for q in attached}
        for k, interface in enumerate(router.interfaces):
            where = f"routers[{i}].interfaces[{k}]"
            label = f"{router.name} → {interface.subnet or interface.port}"
            if interface.subnet is not None:
                present = p.ref("subnet", interface.subnet, router) in on_subnets
            else:
                present = p.ref("port", interface.port, router) in attached_ports
            if present:
                p.out.append(Step("unchanged", "router interface", label, name, "", where))
                continue

            def run(i=i, router=router, interface=interface) -> None:
                change = ({"subnet_id": p.need("subnet", interface.subnet, router)} if interface.subnet
                          else {"port_id": p.need("port", interface.port, router)})
                p.send("put", f"/routers/{p.ids[('routers', i)]}/add_router_interface", change)
            p.out.append(Step("create", "router interface", label, name, "", where, run))
        routes = [r.model_dump() for r in router.routes]
        if not routes:
            continue  # routes the file does not name are left alone
        changed = existing is None or bool(differing({"routes": routes}, {"routes": existing.get("routes") or []}))
        p.out.append(Step("update" if changed else "unchanged", "extra routes", router.name, name,
                          f"{len(routes)} route(s)", f"routers[{i}].routes",
                          (lambda i=i, routes=routes: p.send("put", f"/routers/{p.ids[('routers', i)]}",
                                                             {"router": {"routes": routes}})) if changed else None))


def _router_body(p: Planner, router) -> dict:
    body = {"name": router.name, "description": router.description, "admin_state_up": router.admin_state_up}
    gateway = router.external_gateway_info
    if gateway is not None:
        info = {"network_id": p.ref("network", gateway.network, router), "enable_snat": gateway.enable_snat}
        if gateway.external_fixed_ips is not None:
            info["external_fixed_ips"] = [{k: v for k, v in (("subnet_id", p.ref("subnet", f.subnet, router)),
                                                             ("ip_address", f.ip_address)) if v}
                                          for f in gateway.external_fixed_ips]
        body["external_gateway_info"] = info
    return body


def _router_create_body(p: Planner, router, desired: dict) -> dict:
    body = dict(desired)
    gateway = router.external_gateway_info
    if gateway is not None:
        info = {"network_id": p.need("network", gateway.network, router)}
        if not gateway.enable_snat:  # admin-only in Neutron's policy: sent only when it says something
            info["enable_snat"] = False
        if gateway.external_fixed_ips is not None:
            info["external_fixed_ips"] = [{k: v for k, v in (("subnet_id", p.need("subnet", f.subnet, router)),
                                                             ("ip_address", f.ip_address)) if v}
                                          for f in gateway.external_fixed_ips]
        body["external_gateway_info"] = info
    return body


def _floating_ips(p: Planner) -> None:
    wanted = [(f"floating_ips[{i}]", ("floating_ips", i), fip, fip.floating_network, fip.port, fip)
              for i, fip in enumerate(p.s.floating_ips)]
    wanted += [(f"servers[{i}].floating_ip", None, None, server.floating_ip, server.name, server)
               for i, server in enumerate(p.s.servers) if server.floating_ip]
    for where, key, fip, network, port, owner in wanted:
        existing = _floating_ip(p, where, key, fip, network, port, owner)
        if fip is not None and fip.port_forwardings:
            _port_forwardings(p, where, key, fip, existing)


def _port_forwardings(p: Planner, where: str, key, fip, existing: dict | None) -> None:
    """One step per forwarding, matched to the floating IP's by protocol and external ports."""
    name = p.project_of(fip)[0]
    have = {(pf["protocol"], pf.get("external_port_range")): pf for pf in (existing or {}).get("port_forwardings") or []}
    for k, pf in enumerate(fip.port_forwardings):
        spot = f"{where}.port_forwardings[{k}]"
        external = pf.external_port_range or (f"{pf.external_port}:{pf.external_port}" if pf.external_port else None)
        label = f"{pf.protocol} {external} → {pf.port}"

        def desired(pf=pf) -> dict:
            body = pf.model_dump(exclude={"port"}, exclude_none=True)
            body["internal_port_id"] = p.need("port", pf.port, fip)
            if pf.internal_ip_address is None:
                port = p.send("get", f"/ports/{body['internal_port_id']}")["port"]
                body["internal_ip_address"] = next(ip["ip_address"] for ip in port["fixed_ips"] if ":" not in ip["ip_address"])
            return body

        def fip_id() -> str:
            return existing["id"] if existing is not None else p.ids[key]

        match = have.get((pf.protocol, external))
        if match is None:
            p.out.append(Step("create", "port forwarding", label, name, "", spot, lambda desired=desired: p.send(
                "post", f"/floatingips/{fip_id()}/port_forwardings", {"port_forwarding": desired()})))
            continue
        wanted = {k: v for k, v in pf.model_dump(exclude={"port"}, exclude_none=True).items()
                  if k not in ("external_port", "external_port_range", "protocol")}
        wanted["internal_port_id"] = p.ref("port", pf.port, fip)
        if not differing(wanted, match):
            p.out.append(Step("unchanged", "port forwarding", label, name, "", spot))
            continue
        path = f"/floatingips/{existing['id']}/port_forwardings/{match['id']}"  # a match has a floating IP
        p.out.append(Step("update", "port forwarding", label, name, ", ".join(sorted(differing(wanted, match))), spot,
                          lambda path=path, wanted=wanted, match=match: p.send(
                              "put", path, {"port_forwarding": differing(wanted, match)})))


def _floating_ip(p: Planner, where: str, key, fip, network: str, port: str | None, owner) -> dict | None:
    name = p.project_of(owner)[0]
    port_id = p.ref("port", port, owner)
    existing = None
    if fip is not None and fip.id:
        existing = p.by_id["floating IP"].get(fip.id)
    if existing is None and fip is not None and fip.floating_ip_address:
        existing = next((f for f in p.inv.floating_ips if f.get("floating_ip_address") == fip.floating_ip_address), None)
    if existing is None and port_id is not None:
        existing = next((f for f in p.inv.floating_ips if f.get("port_id") == port_id), None)
    label = (fip.name if fip is not None and fip.name else None) or f"on {port or network}"

    def desired() -> dict:
        body = {"port_id": p.ref("port", port, owner)}
        if fip is not None:
            body.update(description=fip.description, qos_policy_id=p.ref("QoS policy", fip.qos_policy, fip))
            if fip.fixed_ip_address and port:
                body["fixed_ip_address"] = fip.fixed_ip_address
        return body
    if existing is None:
        def run() -> None:
            body = {**desired(), "floating_network_id": p.need("network", network, owner),
                    "port_id": p.need("port", port, owner)}
            if fip is not None and fip.floating_ip_address:
                body["floating_ip_address"] = fip.floating_ip_address
            made = p.create("floating IP", body, p.project_of(owner)[1])
            if key is not None:
                p.ids[key] = made["id"]
            if fip is not None and fip.tags:
                p.put_tags("floating IP", made["id"], fip.tags)
        p.out.append(Step("create", "floating IP", label, name, "", where, run))
        return None
    changes = differing(desired(), existing)
    if not changes:
        p.out.append(Step("unchanged", "floating IP", label, name, existing.get("floating_ip_address", ""), where))
        return existing
    rid = existing["id"]
    p.out.append(Step("update", "floating IP", label, name, ", ".join(sorted(changes)), where,
                      lambda: p.send("put", f"/floatingips/{rid}", {"floatingip": differing(desired(), existing)})))
    return existing
