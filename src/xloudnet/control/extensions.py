"""The ``/v2.0/extensions`` listing: exactly the aliases xloudnet implements.

Each service declares the aliases it implements (``ResourceService.extensions``); the API-wide
conventions are declared here. Names and descriptions follow neutron-lib's API definitions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .plane import ControlPlane

UPDATED = "2013-01-01T10:00:00-00:00"

# alias -> (name, description)
CATALOG: dict[str, tuple[str, str]] = {
    # conventions implemented by the request layer for every resource
    "pagination": ("Pagination support", "Extension that indicates that pagination is enabled."),
    "sorting": ("Sorting support", "Extension that indicates that sorting is enabled."),
    "sort-key-validation": ("Sort Key Validation", "Validate sort keys to ensure they are valid attributes."),
    "filter-validation": ("Filter parameters validation", "Provides validation on filter parameters."),
    "empty-string-filtering": ("Empty String Filtering Extension", "Allow filtering by attributes with empty string value"),
    "project-id": ("project_id field enabled", "Extension that indicates that project_id field is enabled."),
    "standard-attr-description": ("standard-attr-description", "Extension to add descriptions to standard attributes"),
    "standard-attr-timestamp": ("Resource timestamps", "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes."),
    "standard-attr-revisions": ("Resource revision numbers", "This extension will display the revision number of neutron resources."),
    "standard-attr-tag": ("Tag support for resources with standard attribute: subnet, trunk, network_segment_range, router, network, policy, subnetpool, port, security_group, floatingip", "Enables to set tag on resources with standard attribute."),
    "tag-creation": ("Tag creation extension", "Allow to create tags in resource creation."),
    "revision-if-match": ("If-Match constraints based on revision_number", "Extension indicating that If-Match based on revision_number is supported."),
    # resources
    "network": ("Network", "Core networking API."),
    "external-net": ("Neutron external network", "Adds external network attribute to network resource."),
    "provider": ("Provider Network", "Expose mapping of virtual networks to physical networks"),
    "net-mtu": ("Network MTU", "Provides MTU attribute for a network resource."),
    "net-mtu-writable": ("Network MTU (writable)", "Provides a writable MTU attribute for a network resource."),
    "port-security": ("Port Security", "Provides port security"),
    "allowed-address-pairs": ("Allowed Address Pairs", "Provides allowed address pairs"),
    "binding": ("Port Binding", "Expose port bindings of a virtual port to external application"),
    "extra_dhcp_opt": ("Neutron Extra DHCP options", "Extra options configuration for DHCP. For example PXE boot options to DHCP clients can be specified (e.g. tftp-server, server-ip-address, bootfile-name)"),
    "ip_allocation": ("IP Allocation", "IP allocation extension."),
    "tag-ports-during-bulk-creation": ("Tag Ports During Bulk Creation", "Allow to tag ports during bulk creation"),
    "security-group": ("security-group", "The security groups extension."),
    "stateful-security-group": ("Stateful security group", "Indicates if the security group is stateful or not"),
    "security-groups-normalized-cidr": ("Security group rule normalized CIDR", "Add new field with normalized remote_ip_prefix cidr in SG rule"),
    "security-groups-rules-belongs-to-default-sg": ("Security group rules belongs to default security group", "Flag to determine if the security group rule belongs to the default security group"),
    "port-security-groups-filtering": ("Port filtering on security groups", "Provides security groups filtering when listing ports"),
    "router": ("Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway."),
    "ext-gw-mode": ("Neutron L3 Configurable external gateway mode", "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway"),
    "extraroute": ("Neutron Extra Route", "Extra routes configuration for L3 router"),
    "extraroute-atomic": ("Atomically add/remove extra routes", "Edit extra routes of a router on server side by atomically adding/removing extra routes"),
    "fip-port-details": ("Floating IP Port Details Extension", "Add port_details attribute to Floating IP resource"),
    "qos": ("Quality of Service", "The Quality of Service extension."),
    "qos-bw-limit-direction": ("Direction for QoS bandwidth limit rule", "Allow to configure QoS bandwidth limit rule with specific direction: ingress or egress"),
    "qos-bw-minimum-ingress": ("Ingress direction for QoS minimum bandwidth rule", "Allow to configure QoS minumum bandwidth rule with ingress direction."),
    "qos-default": ("QoS default policy", "Expose the QoS default policy per project"),
    "qos-rule-type-details": ("QoS rule type details", "Expose details about QoS rule types supported by loaded backend drivers"),
    "qos-rule-type-filter": ("QoS rule type filter", "Add the filters 'all_supported' and 'all_rules' to the QoS rule types"),
    "qos-rules-alias": ("QoS Rules Alias API", "API to enable GET, PUT and DELETE operations on QoS policy rules without specifying policy ID"),
    "qos-fip": ("Floating IP QoS", "The floating IP Quality of Service extension"),
    # floating-IP port forwarding
    "floating-ip-port-forwarding": ("Floating IP Port Forwarding", "Allow port forwarding from floating IP port to an internal port"),
    "floating-ip-port-forwarding-description": ("Floating IP Port Forwarding new attribute description", "Add a description field to Port Forwarding rules"),
    "floating-ip-port-forwarding-port-ranges": ("Floating IP Port Forwarding support port ranges", "Add support to port ranges"),
    "floating-ip-port-forwarding-detail": ("Floating IP port forwarding detail", "Allow list floating ip return more port forwarding data, include'id' and 'internal_port_id'"),
    "expose-port-forwarding-in-fip": ("Expose Floating IP port forwardings", "Expose port forwarding fields in floating IP response"),
    "qos-pps": ("QoS packet rate limit rule", "Allow to configure QoS packet rate limit rule."),
    "quotas": ("Quota management support", "Expose functions for quotas management per project"),
    "ip-substring-filtering": ("IP address substring filtering", "Provides IP address substring filtering when listing ports"),
    "subnet-service-types": ("Subnet service types", "Provides ability to set the subnet service_types field"),
    "subnet-external-network": ("Subnet belongs to an external network", "Informs if the subnet belongs to an external network"),
    "qos-port-network-policy": ("QoS port network policy extension", "Adds a the QoS network ID to the port definition"),
    "agent": ("agent", "The agent management extension."),
    "dhcp_agent_scheduler": ("DHCP Agent Scheduler", "Schedule networks among dhcp agents"),
    "security-groups-default-rules": ("Default rules for security groups", "Configure set of security group rules used as default rules for every new security group"),
    "rbac-policies": ("RBAC Policies", "Allows creation and modification of policies that control tenant access to resources."),
    "rbac-security-groups": ("Add security_group type to network RBAC", "Add security_group type to network RBAC"),
    "rbac-subnetpool": ("Add subnetpool type to RBAC", "Add subnetpool type to RBAC"),
    "security-groups-shared-filtering": ("Security group filtering on the shared field", "Support filtering security groups on the shared field"),
    "subnet_allocation": ("Subnet Allocation", "Enables allocation of subnets from a subnet pool"),
    "subnetpool-prefix-ops": ("Subnet Pool Prefix Operations", "Provides support for adjusting the prefix list of subnet pools"),
    "default-subnetpools": ("Default Subnetpools", "Provides ability to mark and use a subnetpool as the default."),
    "address-scope": ("Address scope", "Address scopes extension."),
    "subnet_onboard": ("Subnet Onboard", "Provides support for onboarding subnets into subnet pools"),
    "rbac-address-scope": ("Add address_scope type to RBAC", "Add address_scope type to RBAC"),
    "network-ip-availability": ("Network IP Availability", "Provides IP availability data for each network and subnet."),
    "quota_details": ("Quota details management support", "Expose functions for quotas usage statistics per project"),
    "address-group": ("Address group", "Support address group"),
    "security-groups-remote-address-group": ("Remote address group id field for security group rules", "Add new field of remote address group id in SG rules"),
    "rbac-address-group": ("Add address_group type to RBAC", "Add address_group type to network RBAC"),
    # qos and quotas
    "quota-check-limit": ("Quota engine limit check", "Neutron quota engine checks the resource usage before applying a new quota limit"),
    "quota-check-limit-default": ("Quota engine limit check by default", "By default, the Neutron quota engine checks the resource usage before applying a new quota limit"),
}

CONVENTIONS = (
    "pagination",
    "sorting",
    "sort-key-validation",
    "filter-validation",
    "empty-string-filtering",
    "project-id",
    "standard-attr-description",
    "standard-attr-timestamp",
    "standard-attr-revisions",
    "standard-attr-tag",
    "tag-creation",
    "revision-if-match",
)


def extension_list(plane: "ControlPlane") -> list[dict]:
    """Every alias implemented by the request layer or by a service, sorted by alias."""
    aliases = set(CONVENTIONS)
    for service in plane.services.values():
        aliases.update(service.extensions)
    aliases.discard("network")  # core resource, not an extension
    return [
        {"name": CATALOG[a][0], "alias": a, "description": CATALOG[a][1], "updated": UPDATED, "links": []}
        for a in sorted(aliases)
    ]
