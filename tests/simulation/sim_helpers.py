"""Helpers for the analysis-API tests: log in through Keystone, build a topology through the
Neutron API (never the store), and call ``/simulation/v1``.

``http`` is anything with httpx's ``request(method, url, json=, headers=)``: a FastAPI
``TestClient`` in-process, or an ``httpx.Client`` pointed at a real server.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PASSWORD = "pw"
NET = "/networking/v2.0"
SIM = "/simulation/v1"
REACHABLE = ("ACCEPTED", "EXITS_NETWORK")


def password_auth(user: str, password: str = PASSWORD) -> dict:
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": user, "domain": {"name": "Default"}}}}}


def login(http, user: str) -> str:
    response = http.request("POST", "/identity/v3/auth/tokens", json=password_auth(user))
    assert response.status_code == 201, response.text
    return response.headers["x-subject-token"]


def neutron_error(response) -> dict:
    """The ``NeutronError`` object of an error response (asserting the envelope)."""
    body = response.json()
    assert set(body) == {"NeutronError"}, body
    assert set(body["NeutronError"]) == {"type", "message", "detail"}, body
    return body["NeutronError"]


@dataclass
class Caller:
    """One user's token and shortcuts for the networking and simulation services."""

    http: object
    token: str

    def neutron(self, method: str, path: str, body=None):
        return self.http.request(method, NET + path, json=body, headers={"X-Auth-Token": self.token})

    def create(self, collection: str, key: str, body: dict) -> dict:
        response = self.neutron("POST", f"/{collection}", {key: body})
        assert response.status_code == 201, response.text
        return response.json()[key]

    def sim(self, method: str, path: str, body=None):
        return self.http.request(method, SIM + path, json=body, headers={"X-Auth-Token": self.token})

    def ask(self, path: str, body=None, method: str = "POST") -> dict:
        response = self.sim(method, path, body)
        assert response.status_code == 200, response.text
        return response.json()


@dataclass
class Topology:
    """Ids of what ``build_topology`` created (demo's and alt_demo's halves of one cloud)."""

    ids: dict = field(default_factory=dict)

    def __getattr__(self, name):
        try:
            return self.__dict__["ids"][name]
        except KeyError:
            raise AttributeError(name) from None


def _vm_port(caller: Caller, name: str, network: str, groups: list[str]) -> dict:
    return caller.create("ports", "port", {"name": name, "network_id": network, "security_groups": groups,
                                            "device_owner": "compute:nova", "device_id": f"vm-{name}"})


def _rule(caller: Caller, group: str, **fields) -> dict:
    body = {"security_group_id": group, "direction": "ingress", "ethertype": "IPv4", **fields}
    return caller.create("security-group-rules", "security_group_rule", body)


def build_topology(admin: Caller, demo: Caller, alt: Caller) -> Topology:
    """A small cloud, all through the API.

    - admin: external network ``public`` 203.0.113.0/24 (upstream gateway .1);
    - demo: networks a (10.0.0.0/24) and b (10.0.1.0/24) joined by router r1 (gateway on
      public); groups ``bastion`` (ingress tcp/22 and any ICMP from anywhere) and ``web``
      (ingress tcp/80 from anywhere, tcp/22 from members of bastion, tcp/8080 from members of
      ``ops-tag``, a marker group with no rules and no members); ports ``bastion`` and
      ``web1`` on a, ``web2`` on b with a floating IP;
    - alt_demo: network x 10.0.0.0/24 (overlapping demo's a) behind router r2; port ``x1`` in its
      default group plus tcp/22 from anywhere, with a floating IP.
    """
    t = {}
    public = admin.create("networks", "network", {"name": "public", "router:external": True})
    admin.create("subnets", "subnet", {"network_id": public["id"], "cidr": "203.0.113.0/24", "ip_version": 4,
                                       "gateway_ip": "203.0.113.1", "name": "public-v4"})
    t["public"] = public["id"]
    bastion = demo.create("security-groups", "security_group", {"name": "bastion"})
    web = demo.create("security-groups", "security_group", {"name": "web"})
    t["sg_bastion"], t["sg_web"] = bastion["id"], web["id"]
    t["rule_bastion_ssh"] = _rule(demo, bastion["id"], protocol="tcp", port_range_min=22, port_range_max=22,
                                  remote_ip_prefix="0.0.0.0/0")["id"]
    t["rule_bastion_icmp"] = _rule(demo, bastion["id"], protocol="icmp", remote_ip_prefix="0.0.0.0/0")["id"]
    t["rule_web_http"] = _rule(demo, web["id"], protocol="tcp", port_range_min=80, port_range_max=80,
                               remote_ip_prefix="0.0.0.0/0")["id"]
    t["rule_web_ssh"] = _rule(demo, web["id"], protocol="tcp", port_range_min=22, port_range_max=22,
                              remote_group_id=bastion["id"])["id"]
    tag = demo.create("security-groups", "security_group", {"name": "ops-tag"})
    for rule in tag["security_group_rules"]:  # a pure marker group: no rules of its own
        assert demo.neutron("DELETE", f"/security-group-rules/{rule['id']}").status_code == 204
    t["sg_tag"] = tag["id"]
    t["rule_web_ops"] = _rule(demo, web["id"], protocol="tcp", port_range_min=8080, port_range_max=8080,
                              remote_group_id=tag["id"])["id"]
    router = demo.create("routers", "router", {"name": "r1", "external_gateway_info": {"network_id": public["id"]}})
    t["r1"] = router["id"]
    for name, cidr in (("a", "10.0.0.0/24"), ("b", "10.0.1.0/24")):
        net = demo.create("networks", "network", {"name": f"net-{name}"})
        sub = demo.create("subnets", "subnet", {"network_id": net["id"], "cidr": cidr, "ip_version": 4})
        response = demo.neutron("PUT", f"/routers/{router['id']}/add_router_interface", {"subnet_id": sub["id"]})
        assert response.status_code == 200, response.text
        t[f"net_{name}"], t[f"sub_{name}"] = net["id"], sub["id"]
    for name, net, group in (("bastion", "net_a", bastion), ("web1", "net_a", web), ("web2", "net_b", web)):
        port = _vm_port(demo, name, t[net], [group["id"]])
        t[name], t[f"{name}_ip"] = port["id"], port["fixed_ips"][0]["ip_address"]
    fip = demo.create("floatingips", "floatingip", {"floating_network_id": public["id"], "port_id": t["web2"]})
    t["web2_fip"], t["fip_web2"] = fip["floating_ip_address"], fip["id"]
    _alt_half(alt, t)
    return Topology(t)


def _alt_half(alt: Caller, t: dict) -> None:
    groups = alt.neutron("GET", "/security-groups?name=default").json()["security_groups"]
    default = groups[0]["id"]
    t["alt_sg_default"] = default
    t["alt_rule_ssh"] = _rule(alt, default, protocol="tcp", port_range_min=22, port_range_max=22,
                              remote_ip_prefix="0.0.0.0/0")["id"]
    net = alt.create("networks", "network", {"name": "net-x"})
    sub = alt.create("subnets", "subnet", {"network_id": net["id"], "cidr": "10.0.0.0/24", "ip_version": 4})
    router = alt.create("routers", "router", {"name": "r2", "external_gateway_info": {"network_id": t["public"]}})
    response = alt.neutron("PUT", f"/routers/{router['id']}/add_router_interface", {"subnet_id": sub["id"]})
    assert response.status_code == 200, response.text
    port = _vm_port(alt, "x1", net["id"], [default])
    fip = alt.create("floatingips", "floatingip", {"floating_network_id": t["public"], "port_id": port["id"]})
    t.update(net_x=net["id"], r2=router["id"], x1=port["id"], x1_ip=port["fixed_ips"][0]["ip_address"],
             x1_fip=fip["floating_ip_address"])
