"""The scenario file format, as pydantic models (``xloudnet scenario schema`` exports it as JSON Schema).

Conventions (docs/scenarios.md has the full description):

- Field names are Neutron's attribute names. A reference to another resource drops Neutron's
  ``_id`` suffix and holds that resource's *name* (or its ``id:`` when the file gives one):
  ``network: web-net`` for ``network_id``, ``remote_group: web`` for ``remote_group_id``,
  ``qos_policy: gold`` for ``qos_policy_id``, ``floating_network: public`` for
  ``floating_network_id``. Lists of references keep Neutron's name (``security_groups: [web]``).
- ``router:external`` is written ``external: true``.
- Every resource may carry ``id:`` (imported clouds keep their ids) and ``project:`` (a project's
  name; the scenario's ``default_project`` when left out).
- Intents (``expect:``) and traffic flows name their ends with selectors (``Selector``).
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Name = Annotated[str, Field(min_length=1, max_length=255)]
Ref = Annotated[str, Field(min_length=1, max_length=255, description="the name (or id) of a resource in this file")]
Service = Annotated[str, Field(
    description="'tcp/5432', 'tcp/8000-8080', 'udp/53', 'icmp' (all types), 'icmp/8' (echo, all codes), "
                "'icmp/3:4' (type 3 code 4), 'gre', or 'any' (every protocol)",
)]
DISPOSITIONS = ("ACCEPTED", "EXITS_NETWORK", "DENIED_EGRESS", "DENIED_INGRESS", "SPOOFED", "NO_ROUTE",
                "NEIGHBOR_UNREACHABLE", "LOOP", "ADMIN_DOWN")
Disposition = Literal["ACCEPTED", "EXITS_NETWORK", "DENIED_EGRESS", "DENIED_INGRESS", "SPOOFED", "NO_ROUTE",
                      "NEIGHBOR_UNREACHABLE", "LOOP", "ADMIN_DOWN"]


SharedWith = Annotated[list[Name], Field(
    description="RBAC access_as_shared: the projects (by name) this is shared with, or '*' for every project",
)]


class Strict(BaseModel):
    """Every model refuses unknown keys: a typo is an error with its line, never silently ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Resource(Strict):
    name: Name
    id: str | None = Field(None, description="keep this id (imported clouds); generated when left out")
    project: Name | None = Field(None, description="owning project's name (default: default_project)")
    description: str = ""
    tags: list[str] = []


# --- projects, networks, subnets --------------------------------------------------------------------
class Project(Strict):
    name: Name
    id: str | None = None
    description: str = ""


class Network(Resource):
    admin_state_up: bool = True
    shared: bool = False
    shared_with: SharedWith = []
    external: bool = Field(False, description="Neutron's router:external")
    mtu: int | None = Field(None, ge=68, le=65535)
    port_security_enabled: bool = True
    qos_policy: Ref | None = None


class AddressScope(Resource):
    """Neutron's address scope: routers route only within one scope, unless they NAT."""

    ip_version: Literal[4, 6]
    shared: bool = False


class SubnetPool(Resource):
    """A block of address space subnets are taken from (``subnet_pool:`` on a subnet)."""

    prefixes: list[str] = Field(min_length=1)
    address_scope: Ref | None = Field(None, description="Neutron's address_scope_id, by scope name")
    default_prefixlen: int | None = Field(None, ge=0, le=128)
    min_prefixlen: int | None = Field(None, ge=0, le=128)
    max_prefixlen: int | None = Field(None, ge=0, le=128)
    shared: bool = False
    is_default: bool = False

    @field_validator("prefixes")
    @classmethod
    def _prefixes(cls, value: list[str]) -> list[str]:
        for prefix in value:
            try:
                ipaddress.ip_network(prefix, strict=False)
            except ValueError:
                raise ValueError(f"'{prefix}' is not a valid CIDR") from None
        return value


class AllocationPool(Strict):
    start: str
    end: str


class HostRoute(Strict):
    destination: str
    nexthop: str


class Subnet(Resource):
    network: Ref
    cidr: str
    ip_version: Literal[4, 6] | None = Field(None, description="default: the cidr's family")
    gateway_ip: str | None = Field("auto", description="'auto' (default): the first address; null: no gateway")
    allocation_pools: list[AllocationPool] | None = None
    host_routes: list[HostRoute] = []
    enable_dhcp: bool = True
    dns_nameservers: list[str] = []
    ipv6_ra_mode: Literal["slaac", "dhcpv6-stateful", "dhcpv6-stateless"] | None = None
    ipv6_address_mode: Literal["slaac", "dhcpv6-stateful", "dhcpv6-stateless"] | None = None
    subnet_pool: Ref | None = Field(None, description="Neutron's subnetpool_id, by pool name: the cidr is taken "
                                                      "from it (and the subnet joins the pool's address scope)")

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise ValueError(f"'{value}' is not a valid CIDR") from None
        return value


# --- routers ------------------------------------------------------------------------------------------
class ExternalFixedIP(Strict):
    subnet: Ref | None = None
    ip_address: str | None = None


class ExternalGateway(Strict):
    network: Ref
    enable_snat: bool = True
    external_fixed_ips: list[ExternalFixedIP] | None = None


class RouterInterface(Strict):
    subnet: Ref | None = None
    port: Ref | None = Field(None, description="attach by a port of the file (its fixed IP becomes the interface)")

    @model_validator(mode="after")
    def _one(self):
        if (self.subnet is None) == (self.port is None):
            raise ValueError("an interface names exactly one of 'subnet' or 'port'")
        return self


class Route(Strict):
    destination: str
    nexthop: str


class Router(Resource):
    admin_state_up: bool = True
    external_gateway_info: ExternalGateway | None = None
    interfaces: list[RouterInterface | Ref] = Field([], description="subnet names, or {subnet} / {port}")
    routes: list[Route] = Field([], description="extra routes")

    @field_validator("interfaces")
    @classmethod
    def _shorthand(cls, value: list) -> list:
        return [RouterInterface(subnet=v) if isinstance(v, str) else v for v in value]


# --- security groups ----------------------------------------------------------------------------------
class SecurityGroupRule(Strict):
    id: str | None = None
    direction: Literal["ingress", "egress"]
    ethertype: Literal["IPv4", "IPv6"] = "IPv4"
    protocol: str | int | None = None
    port_range_min: int | None = Field(None, ge=0, le=65535)
    port_range_max: int | None = Field(None, ge=0, le=65535)
    remote_ip_prefix: str | None = None
    remote_group: Ref | None = Field(None, description="Neutron's remote_group_id, by group name")
    remote_address_group: Ref | None = Field(None, description="Neutron's remote_address_group_id, by address "
                                                                  "group name")
    description: str = ""


class AddressGroup(Strict):
    """Neutron's address group: CIDRs that rules name as their remote side (no tags in Neutron)."""

    name: Name
    id: str | None = Field(None, description="keep this id (imported clouds); generated when left out")
    project: Name | None = Field(None, description="owning project's name (default: default_project)")
    description: str = ""
    addresses: list[str] = Field([], description="CIDRs with their mask, e.g. 10.0.0.0/24 or 192.0.2.7/32")
    shared_with: SharedWith = []


class SecurityGroup(Resource):
    stateful: bool = True
    shared_with: SharedWith = []
    rules: list[SecurityGroupRule] = []
    keep_default_egress: bool = Field(True, description="keep the two allow-all egress rules Neutron adds")


# --- ports, servers, floating IPs -----------------------------------------------------------------
class FixedIP(Strict):
    subnet: Ref | None = None
    ip_address: str | None = None


class AddressPair(Strict):
    ip_address: str
    mac_address: str | None = None


class PortFields(Strict):
    network: Ref
    fixed_ips: list[FixedIP] | None = None
    security_groups: list[Ref] | None = Field(None, description="default: the project's 'default' group")
    allowed_address_pairs: list[AddressPair] = []
    port_security_enabled: bool | None = Field(None, description="default: the network's")
    admin_state_up: bool = True
    qos_policy: Ref | None = None
    mac_address: str | None = None


class Port(Resource, PortFields):
    device_owner: str = ""
    device_id: str = ""


class Server(Resource, PortFields):
    """An instance with one NIC: a port owned by ``compute:nova`` (named like the server)."""

    floating_ip: Ref | None = Field(None, description="an external network: give the server a floating IP from it")


class PortForwarding(Strict):
    """A port forwarding of its floating IP (which then has no ``port``): one port or a range."""

    port: Ref = Field(description="the internal port (a port or server of the file)")
    protocol: Literal["tcp", "udp", "sctp", "dccp", "icmp", "ipv6-icmp"] = "tcp"
    internal_ip_address: str | None = Field(None, description="default: the port's first IPv4 address")
    external_port: int | None = Field(None, ge=1, le=65535)
    internal_port: int | None = Field(None, ge=1, le=65535)
    external_port_range: str | None = Field(None, description="'first:last'")
    internal_port_range: str | None = Field(None, description="'first:last' as wide as the external one, or one port")
    description: str = ""


class FloatingIP(Strict):
    name: Name | None = Field(None, description="a label for this file only (Neutron's floating IPs have none)")
    id: str | None = None
    project: Name | None = None
    description: str = ""
    tags: list[str] = []
    floating_network: Ref
    floating_ip_address: str | None = None
    port: Ref | None = None
    fixed_ip_address: str | None = None
    qos_policy: Ref | None = None
    port_forwardings: list[PortForwarding] = []


# --- QoS -----------------------------------------------------------------------------------------------
class QosRule(Strict):
    id: str | None = None
    type: Literal["bandwidth_limit", "dscp_marking", "minimum_bandwidth", "packet_rate_limit",
                  "minimum_packet_rate"]
    max_kbps: int | None = Field(None, ge=0)
    max_burst_kbps: int | None = Field(None, ge=0)
    max_kpps: int | None = Field(None, ge=0)
    max_burst_kpps: int | None = Field(None, ge=0)
    min_kbps: int | None = Field(None, ge=0)
    min_kpps: int | None = Field(None, ge=0)
    dscp_mark: int | None = Field(None, ge=0, le=63)
    direction: Literal["ingress", "egress", "any"] | None = None


class QosPolicy(Resource):
    shared: bool = False
    shared_with: SharedWith = []
    is_default: bool = False
    rules: list[QosRule] = []


# --- simulator settings and traffic ---------------------------------------------------------------
class Link(Strict):
    capacity_kbps: float | None = Field(None, gt=0)
    delay_ms: float | None = Field(None, ge=0)
    queue_packets: int | None = Field(None, ge=1)


class Selector(Strict):
    """Endpoints: every endpoint port (not ``network:*``) matching ALL the given keys, or one
    address (``ip_address``, e.g. an external host). As a string: a port or server name,
    ``internet`` (an external host), an IP address, or a CIDR (ports with a fixed IP in it)."""

    port: Ref | None = None
    tag: str | None = None
    security_group: Ref | None = None
    network: Ref | None = None
    cidr: str | None = None
    project: Name | None = None
    ip_address: str | None = Field(None, description="an address outside the ports: an external host, a floating IP")
    external_network: Ref | None = Field(None, description="with ip_address: the external network it enters on")
    internet: bool = Field(False, description="an external host on the first external network")

    @model_validator(mode="after")
    def _some(self):
        port_keys = [self.port, self.tag, self.security_group, self.network, self.cidr, self.project]
        address = self.ip_address is not None or self.internet
        if address and any(k is not None for k in port_keys):
            raise ValueError("a selector names either ports (port, tag, security_group, network, cidr, project) "
                             "or an address (ip_address, internet), not both")
        if not address and all(k is None for k in port_keys):
            raise ValueError("a selector must name something")
        return self


SelectorLike = Selector | str


class Flow(Strict):
    name: Name
    from_: SelectorLike = Field(alias="from")
    to: SelectorLike
    protocol: str | int = "udp"
    destination_port: int | None = Field(None, ge=0, le=65535)
    rate_kbps: float = Field(gt=0)
    packet_size: int = Field(1500, ge=64, le=9216)
    pattern: Literal["cbr", "poisson", "onoff"] = "cbr"
    on_ms: float | None = Field(None, gt=0)
    off_ms: float | None = Field(None, ge=0)
    dscp: int = Field(0, ge=0, le=63)
    start_s: float = Field(0.0, ge=0)


class Traffic(Strict):
    duration_s: float = Field(5.0, gt=0, le=600)
    seed: int = Field(0, ge=0)
    flows: list[Flow] = []


# --- intents -------------------------------------------------------------------------------------------
class Reach(Strict):
    """Every (from, to) pair gets through (or stops with ``disposition``)."""

    from_: SelectorLike = Field(alias="from")
    to: SelectorLike
    protocol: str | int | None = Field(None, description="left out: some service gets through")
    port: int | None = Field(None, ge=0, le=65535, description="destination port (tcp, udp, ...)")
    icmp_type: int | None = Field(None, ge=0, le=255)
    icmp_code: int | None = Field(None, ge=0, le=255)
    ethertype: Literal["IPv4", "IPv6"] | None = None
    disposition: Disposition | None = Field(None, description="expected verdict; default: reachable "
                                                                 "(ACCEPTED or EXITS_NETWORK)")


class Isolated(Strict):
    """No flow at all, of any protocol or port, from any of ``from`` to any of ``to``."""

    from_: SelectorLike = Field(alias="from")
    to: SelectorLike
    ethertype: Literal["IPv4", "IPv6"] | None = None


def _services(value: list[str]) -> list[str]:
    from .services import parse

    for item in value:
        parse([item])  # ValueError says what is wrong with which entry
    return value


class Only(Strict):
    """The exact set of services allowed from each of ``from`` to each of ``to`` equals ``services``."""

    from_: SelectorLike = Field(alias="from")
    to: SelectorLike
    services: list[Service]
    ethertype: Literal["IPv4", "IPv6"] | None = None

    _check = field_validator("services")(classmethod(lambda cls, v: _services(v)))


class Exposed(Strict):
    to: SelectorLike
    services: list[Service]

    _check = field_validator("services")(classmethod(lambda cls, v: _services(v)))


class Exposure(Strict):
    """What the internet reaches (endpoint port, service) is within / equal to the listed set."""

    from_: SelectorLike = Field("internet", alias="from")
    within: list[Exposed] | None = None
    equal: list[Exposed] | None = None

    @model_validator(mode="after")
    def _one(self):
        if (self.within is None) == (self.equal is None):
            raise ValueError("exposure takes exactly one of 'within' or 'equal'")
        return self


class Qos(Strict):
    """A ``traffic:`` flow's measured figures."""

    flow: Name
    min_throughput_kbps: float | None = Field(None, ge=0)
    max_loss: float | None = Field(None, ge=0, le=1, description="lost fraction of offered packets (0.01 = 1 %)")
    max_p99_ms: float | None = Field(None, ge=0)


INTENT_KINDS = ("reach", "isolated", "only", "exposure", "qos")


class Intent(Strict):
    name: Name
    description: str = ""
    expect_fail: bool = Field(False, description="a known failure: reported as xfail, does not fail the run")
    reach: Reach | None = None
    isolated: Isolated | None = None
    only: Only | None = None
    exposure: Exposure | None = None
    qos: Qos | None = None

    @model_validator(mode="after")
    def _one_kind(self):
        given = [k for k in INTENT_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"an intent has exactly one of {', '.join(INTENT_KINDS)}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in INTENT_KINDS if getattr(self, k) is not None)

    @property
    def spec(self) -> Any:
        return getattr(self, self.kind)


# --- the file -----------------------------------------------------------------------------------------
class Scenario(Strict):
    """One scenario file."""

    name: Name | None = None
    description: str = ""
    default_project: Name = "demo"
    dhcp_agent: bool = Field(True, description="the cloud runs a DHCP agent: a network:dhcp port on every "
                                               "network with a DHCP-enabled subnet (false: none, as on OVN)")
    projects: list[Project] = []
    qos_policies: list[QosPolicy] = []
    address_scopes: list[AddressScope] = []
    subnet_pools: list[SubnetPool] = []
    networks: list[Network] = []
    subnets: list[Subnet] = []
    address_groups: list[AddressGroup] = []
    security_groups: list[SecurityGroup] = []
    routers: list[Router] = []
    ports: list[Port] = []
    servers: list[Server] = []
    floating_ips: list[FloatingIP] = []
    links: dict[str, Link] = Field({}, description="simulator link settings: a kind (port, router, router_uplink) "
                                                   "or a link named like 'uplink:ROUTER/out', 'port:NAME/tx'")
    traffic: Traffic | None = None
    expect: list[Intent] = []


def json_schema() -> dict:
    """The JSON Schema of a scenario file (for editors: validation and completion)."""
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema.setdefault("title", "xloudnet scenario")
    return schema


__all__ = ["Scenario", "Project", "AddressScope", "SubnetPool", "Network", "Subnet", "Router", "RouterInterface",
           "ExternalGateway", "SecurityGroup", "SecurityGroupRule", "AddressGroup", "Port", "Server", "FloatingIP",
           "QosPolicy", "QosRule",
           "Link", "Selector", "Flow", "Traffic", "Intent", "Reach", "Isolated", "Only", "Exposure", "Exposed",
           "Qos", "INTENT_KINDS", "DISPOSITIONS", "json_schema"]
