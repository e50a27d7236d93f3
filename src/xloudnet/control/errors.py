"""Neutron's error tree. Leaf class names equal the ``type`` strings Neutron puts in its
``NeutronError`` bodies; the API layer turns any ``NeutronException`` into
``{"NeutronError": {"type": cls.__name__, "message": str(exc), "detail": ""}}`` with ``status``.

Messages follow neutron-lib's templates so that clients that show them read the same text.
"""

from __future__ import annotations


class NeutronException(Exception):
    """Root of every error the control plane raises on purpose."""

    status = 500
    message = "An unknown exception occurred."

    def __init__(self, message: str | None = None, **kwargs):
        if message is None:
            try:
                message = self.message % kwargs
            except (KeyError, TypeError):
                message = self.message
        self.kwargs = kwargs
        super().__init__(message)

    @property
    def type(self) -> str:
        return type(self).__name__


# --- status families -------------------------------------------------------------------------
class BadRequest(NeutronException):
    status = 400
    message = "Bad %(resource)s request: %(msg)s."


class NotFound(NeutronException):
    status = 404
    message = "An unknown exception occurred."


class Conflict(NeutronException):
    status = 409
    message = "An unknown exception occurred."


class InUse(Conflict):
    message = "The resource is in use."


class NotAuthorized(NeutronException):
    status = 403
    message = "Not authorized."


class ServiceUnavailable(NeutronException):
    status = 503
    message = "The service is unavailable at this time."


class InvalidInput(BadRequest):
    message = "Invalid input for operation: %(error_message)s."


# --- request-shape errors (webob in real Neutron) ----------------------------------------------
class HTTPBadRequest(BadRequest):
    message = "Bad request."


class HTTPNotFound(NotFound):
    message = "The resource could not be found."


class HTTPMethodNotAllowed(NeutronException):
    status = 405
    message = "The method is not allowed for the requested URL."


class HTTPRequestEntityTooLarge(NeutronException):
    status = 413
    message = "Request is too large."


class PolicyNotAuthorized(NotAuthorized):
    message = "%(action)s is disallowed by policy"


class PolicyRemoveAuthorizationError(NotAuthorized):
    message = "Failed to remove provided policy %(policy_id)s because you are not authorized."


class RevisionNumberConstraintFailed(NeutronException):
    status = 412
    message = "Constrained to %(expected)s, but current revision is %(current)s"


class OverQuota(Conflict):
    message = "Quota exceeded for resources: %(overs)s."


class ExtensionNotFound(NotFound):
    message = "Extension with alias %(extension_alias)s does not exist"


# --- not found ---------------------------------------------------------------------------------
class AgentNotFound(NotFound):
    message = "Agent %(id)s could not be found."


class InvalidDHCPAgent(AgentNotFound):
    message = "Agent %(id)s is not a valid DHCP Agent or has been disabled."


class NetworkHostedByDHCPAgent(Conflict):
    message = "The network %(network_id)s has been already hosted by the DHCP Agent %(agent_id)s."


class NetworkNotHostedByDhcpAgent(Conflict):
    message = "The network %(network_id)s is not hosted by the DHCP agent %(agent_id)s."


class NetworkNotFound(NotFound):
    message = "Network %(net_id)s could not be found."


class SubnetNotFound(NotFound):
    message = "Subnet %(subnet_id)s could not be found."


class PortNotFound(NotFound):
    message = "Port %(port_id)s could not be found."


class RouterNotFound(NotFound):
    message = "Router %(router_id)s could not be found"


class FloatingIPNotFound(NotFound):
    message = "Floating IP %(floatingip_id)s could not be found"


class SecurityGroupNotFound(NotFound):
    message = "Security group %(id)s does not exist"


class DefaultSecurityGroupRuleNotFound(NotFound):
    message = "Default Security Group rule %(id)s does not exist"


class DefaultSecurityGroupRuleExists(InUse):
    message = "Default Security group rule already exists. Rule id is %(rule_id)s."


class SecurityGroupRuleNotFound(NotFound):
    message = "Security group rule %(id)s does not exist"


class QosPolicyNotFound(NotFound):
    message = "QoS policy %(policy_id)s could not be found."


class QosRuleNotFound(NotFound):
    message = "QoS rule %(rule_id)s for policy %(policy_id)s could not be found."


class QosRuleTypeNotFound(NotFound):
    message = "QoS rule type %(rule_type)s could not be found."


class RouterInterfaceNotFound(NotFound):
    message = "Router %(router_id)s does not have an interface with id %(port_id)s"


class RouterInterfaceNotFoundForSubnet(NotFound):
    message = "Router %(router_id)s has no interface on subnet %(subnet_id)s"


class ExternalGatewayForFloatingIPNotFound(NotFound):
    message = (
        "External network %(external_network_id)s is not reachable from subnet %(subnet_id)s.  "
        "Therefore, cannot associate Port %(port_id)s with a Floating IP."
    )


class TagNotFound(NotFound):
    message = "Tag %(tag)s could not be found."


# --- conflicts ---------------------------------------------------------------------------------
class NetworkInUse(InUse):
    message = "Unable to complete operation on network %(net_id)s. %(reason)s."


class SubnetInUse(InUse):
    message = "Unable to complete operation on subnet %(subnet_id)s: %(reason)s."


class PortInUse(InUse):
    message = (
        "Unable to complete operation on port %(port_id)s for network %(net_id)s. "
        "Port already has an attached device %(device_id)s."
    )


class ServicePortInUse(InUse):
    message = "Port %(port_id)s cannot be deleted directly via the port API: %(reason)s."


class PortBound(InUse):
    message = (
        "Unable to complete operation on port %(port_id)s, port is already bound, "
        "port type: %(vif_type)s, old_mac %(old_mac)s, new_mac %(new_mac)s."
    )


class MacAddressInUse(InUse):
    message = "Unable to complete operation for network %(net_id)s. The mac address %(mac)s is in use."


class IpAddressAlreadyAllocated(Conflict):
    message = "IP address %(ip)s already allocated in subnet %(subnet_id)s"


class IpAddressGenerationFailure(Conflict):
    message = "No more IP addresses available on network %(net_id)s."


class GatewayConflictWithAllocationPools(InUse):
    message = "Gateway ip %(ip_address)s conflicts with allocation pool %(pool)s."


class GatewayIpInUse(InUse):
    message = "Current gateway ip %(ip_address)s already in use by port %(port_id)s. Unable to update."


class OverlappingAllocationPools(Conflict):
    message = "Found overlapping allocation pools: %(pool_1)s %(pool_2)s for subnet %(subnet_cidr)s."


class NetworkMTUSubnetConflict(Conflict):
    message = "MTU of %(net_id)s is not valid, subnet requires a minimum of %(mtu)s"


class InvalidSharedSetting(Conflict):
    message = "Unable to reconfigure sharing settings for network %(network)s. Multiple tenants are using it."


class RbacPolicyNotFound(NotFound):
    message = "RBAC policy of type %(object_type)s with ID %(id)s not found"


class DuplicateRbacPolicy(Conflict):
    message = "An RBAC policy already exists with those values."


class RbacPolicyInUse(Conflict):
    message = "RBAC policy on object %(object_id)s cannot be removed because other objects depend on it.\nDetails: %(details)s"


class DeviceIDNotOwnedByTenant(Conflict):
    message = "The following device_id %(device_id)s is not owned by your project or matches another projects router."


class RouterInUse(InUse):
    message = "Router %(router_id)s %(reason)s"


class RouterInterfaceInUseByFloatingIP(InUse):
    message = (
        "Router interface for subnet %(subnet_id)s on router %(router_id)s cannot be deleted, "
        "as it is required by one or more floating IPs."
    )


class RouterInterfaceInUseByRoute(InUse):
    message = (
        "Router interface for subnet %(subnet_id)s on router %(router_id)s cannot be deleted, "
        "as it is required by one or more routes."
    )


class RouterExternalGatewayInUseByFloatingIp(InUse):
    message = (
        "Gateway cannot be updated for router %(router_id)s, since a gateway to external network "
        "%(net_id)s is required by one or more floating IPs."
    )


class FloatingIPPortAlreadyAssociated(InUse):
    message = (
        "Cannot associate floating IP %(floating_ip_address)s (%(fip_id)s) with port %(port_id)s "
        "using fixed IP %(fixed_ip)s, as that fixed IP already has a floating IP on external "
        "network %(net_id)s."
    )


class FipAssociated(InUse):
    message = (
        "Unable to complete operation on port %(port_id)s because it has an associated floating "
        "IP %(fip_id)s."
    )


# --- floating-IP port forwarding (neutron.services.portforwarding.common.exceptions) -------------
class PortForwardingNotFound(NotFound):
    message = "Port Forwarding %(id)s could not be found."


class PortForwardingNotSupportFilterField(BadRequest):
    message = "Port Forwarding filter %(filter)s is not supported."


class FipInUseByPortForwarding(InUse):
    message = "Floating IP %(id)s in use by Port Forwarding resources."


class PortHasBindingFloatingIP(InUse):
    message = (
        "Cannot create port forwarding to floating IP %(floating_ip_address)s (%(fip_id)s) with port "
        "%(port_id)s using fixed IP %(fixed_ip)s, as that port already has a binding floating IP."
    )


class ExternalNetworkInUse(InUse):
    message = (
        "External network %(net_id)s cannot be updated to be made non-external, since it has "
        "existing gateway ports."
    )


class SecurityGroupInUse(InUse):
    message = "Security Group %(id)s %(reason)s."


class SecurityGroupRuleExists(InUse):
    message = "Security group rule already exists. Rule id is %(rule_id)s."


class DuplicateSecurityGroupRuleInPost(InUse):
    message = "Duplicate Security Group Rule in POST."


class SecurityGroupCannotRemoveDefault(InUse):
    message = "Insufficient rights for removing default security group."


class SecurityGroupCannotUpdateDefault(InUse):
    message = "Updating default security group not allowed."


class SecurityGroupDefaultAlreadyExists(InUse):
    message = "Default security group already exists."


class SecurityGroupConflict(Conflict):
    message = "Error %(reason)s while attempting the operation."


class QosPolicyInUse(InUse):
    message = "QoS Policy %(policy_id)s is used by %(object_type)s %(object_id)s."


class QoSRulesConflict(Conflict):
    message = "Rule %(new_rule_type)s conflicts with rule %(rule_id)s which already exists in QoS Policy %(policy_id)s."


class QoSRuleParameterConflict(Conflict):
    message = (
        "Unable to add the rule with value %(rule_value)s to the policy %(policy_id)s as the "
        "existing rule of type %(existing_rule)s restricts the bandwidth to %(existing_value)s."
    )


class QoSPolicyDefaultAlreadyExists(Conflict):
    message = "A default QoS policy exists for project %(project_id)s."


class AddressPairAndPortSecurityRequired(Conflict):
    message = "Port Security must be enabled in order to have allowed address pairs on a port."


class PortSecurityPortHasSecurityGroup(InUse):
    message = "Port has security group associated. Cannot disable port security or ip address until security group is removed"


# --- bad requests ------------------------------------------------------------------------------
class InvalidIpForNetwork(BadRequest):
    message = "IP address %(ip_address)s is not a valid IP for any of the subnets on the specified network."


class InvalidIpForSubnet(BadRequest):
    message = "IP address %(ip_address)s is not a valid IP for the specified subnet."


class InvalidAllocationPool(BadRequest):
    message = "The allocation pool %(pool)s is not valid."


class OutOfBoundsAllocationPool(BadRequest):
    message = "The allocation pool %(pool)s spans beyond the subnet cidr %(subnet_cidr)s."


class InvalidCIDR(BadRequest):
    message = "Invalid CIDR %(input)s given as IP prefix."


class AllocationOnAutoAddressSubnet(BadRequest):
    message = "IPv6 address %(ip)s cannot be directly assigned to a port on subnet %(subnet_id)s as the subnet is configured for automatic addresses"


class ExternalIpAddressExhausted(BadRequest):
    message = "Unable to find any IP address on external network %(net_id)s."


class SubnetMismatchForPort(BadRequest):
    message = "Subnet on port %(port_id)s does not match the requested subnet %(subnet_id)s."


class InvalidRoutes(BadRequest):
    message = "Invalid format for routes: %(routes)s, %(reason)s"


class RoutesExhausted(BadRequest):
    message = "Unable to complete operation for %(router_id)s. The number of routes exceeds the maximum %(quota)s."


class AllowedAddressPairExhausted(BadRequest):
    message = "The number of allowed address pair exceeds the maximum %(quota)s."


class AddressPairMatchesPortFixedIPAndMac(InvalidInput):
    message = "Port's Fixed IP and Mac Address match an address pair entry."


class DuplicateAddressPairInRequest(InvalidInput):
    message = "Request contains duplicate address pair: mac_address %(mac_address)s ip_address %(ip_address)s."


class DNSNameServersExhausted(BadRequest):
    message = "Unable to complete operation for %(subnet_id)s. The number of DNS nameservers exceeds the limit %(quota)s."


class HostRoutesExhausted(BadRequest):
    message = "Unable to complete operation for %(subnet_id)s. The number of host routes exceeds the limit %(quota)s."


class PortSecurityAndIPRequiredForSecurityGroups(InvalidInput):
    message = "Port security must be enabled and port must have an IP address in order to use security groups."


class SecurityGroupRuleInvalidEtherType(InvalidInput):
    message = "Security group rule for ethertype '%(ethertype)s' not supported. Allowed values are %(values)s."


class SecurityGroupRuleInvalidProtocol(InvalidInput):
    message = "Security group rule protocol %(protocol)s not supported. Only protocol values %(values)s and integer representations [0 to 255] are supported."


class SecurityGroupRuleParameterConflict(InvalidInput):
    message = "Conflicting value ethertype %(ethertype)s for CIDR %(cidr)s"


class SecurityGroupMultipleRemoteEntites(InvalidInput):
    message = "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided."


class SecurityGroupProtocolRequiredWithPorts(InvalidInput):
    message = "Must also specify protocol if port range is given."


class SecurityGroupInvalidPortRange(InvalidInput):
    message = "For TCP/UDP protocols, port_range_min must be <= port_range_max"


class SecurityGroupInvalidPortValue(InvalidInput):
    message = "Invalid value for port %(port)s"


class SecurityGroupInvalidIcmpValue(InvalidInput):
    message = "Invalid value for ICMP %(field)s (%(attr)s) %(value)s. It must be 0 to 255."


class SecurityGroupMissingIcmpType(InvalidInput):
    message = "ICMP code (port-range-max) %(value)s is provided but ICMP type (port-range-min) is missing."


class SecurityGroupInvalidProtocolForPort(InvalidInput):
    message = "Invalid protocol %(protocol)s for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP."


class SecurityGroupEthertypeConflictWithProtocol(InvalidInput):
    message = "Invalid ethertype %(ethertype)s for protocol %(protocol)s."


class SecurityGroupRuleInvalidDirection(InvalidInput):
    message = "Invalid direction %(direction)s."


class SecurityGroupRemoteGroupAndRemoteIpPrefix(InvalidInput):
    message = "Only remote_ip_prefix or remote_group_id may be provided."


# --- security groups (issue 2, item 4) -----------------------------------------------------------
class SecurityGroupNotSingleGroupRules(InvalidInput):
    message = "Only allowed to update rules for one security profile at a time"


class SecurityGroupRulesNotSingleTenant(InvalidInput):
    message = "Multiple tenant_ids in bulk security group rule create not allowed"


class AddressGroupNotFound(NotFound):
    message = "Address group %(address_group_id)s could not be found."


class AddressGroupInUse(InUse):
    message = "Address group %(address_group_id)s is in use on one or more security group rules."


class AddressesNotFound(NotFound):
    message = "Addresses %(addresses)s not found in the address group %(address_group_id)s."


class AddressesAlreadyExist(BadRequest):
    message = "Addresses %(addresses)s already exist in the address group %(address_group_id)s."


class AddrFormatError(BadRequest):
    """netaddr's parse error, which Neutron's fault map turns into a 400 under this name."""

    message = "invalid IPNetwork %(address)s"


# --- qos and quotas ------------------------------------------------------------------------------
class TenantQuotaNotFound(NotFound):
    message = "Quota for tenant %(tenant_id)s could not be found."


class AdminRequired(NotAuthorized):
    message = "User does not have admin privileges: %(reason)s."


class QuotaMissingTenant(BadRequest):
    message = "Tenant-id was missing from quota request."


class HTTPNotImplemented(NeutronException):
    status = 501
    message = "The server has either erred or is incapable of performing the requested operation."


# --- subnets, IPAM and ports (issue 2, item 4) ---------------------------------------------------
class IpAddressGenerationFailureNoMatchingSubnet(IpAddressGenerationFailure):
    message = (
        "No valid service subnet for the given device owner, network %(network_id)s, "
        "service type %(service_type)s."
    )


class SubnetPoolNotFound(NotFound):
    message = "Subnet pool %(subnetpool_id)s could not be found."


# --- subnet pools (neutron-lib's messages) ------------------------------------------------------
class SubnetAllocationError(Conflict):
    # Neutron lets this one escape as a 500; the pool running out is a conflict with its state.
    message = "Failed to allocate subnet: %(reason)s."


class MaxPrefixSubnetAllocationError(BadRequest):
    message = "Unable to allocate subnet with prefix length %(prefixlen)s, maximum allowed prefix is %(max_prefixlen)s."


class MinPrefixSubnetAllocationError(BadRequest):
    message = "Unable to allocate subnet with prefix length %(prefixlen)s, minimum allowed prefix is %(min_prefixlen)s."


class IllegalSubnetPoolPrefixUpdate(BadRequest):
    message = "Illegal update to prefixes: %(msg)s."


class IllegalSubnetPoolPrefixBounds(BadRequest):
    message = "Illegal prefix bounds: %(prefix_type)s=%(prefixlen)s, %(base_prefix_type)s=%(base_prefixlen)s."


class PrefixVersionMismatch(BadRequest):
    message = "Cannot mix IPv4 and IPv6 prefixes in a subnet pool."


class EmptySubnetPoolPrefixList(BadRequest):
    message = "Empty subnet pool prefix list."


class SubnetPoolDeleteError(BadRequest):
    message = "Unable to delete subnet pool: %(reason)s."


class NetworkSubnetPoolAffinityError(BadRequest):
    message = "Subnets hosted on the same network must be allocated from the same subnet pool."


class SubnetPoolQuotaExceeded(OverQuota):
    message = "Per-project subnet pool prefix quota exceeded."


# --- address scopes (neutron-lib's messages) ----------------------------------------------------
class AddressScopeNotFound(NotFound):
    message = "Address scope %(address_scope_id)s could not be found."


class AddressScopeInUse(InUse):
    message = ("Unable to complete operation on address scope %(address_scope_id)s. There are one or more "
               "subnet pools in use on the address scope.")


class AddressScopeUpdateError(BadRequest):
    message = "Unable to update address scope %(address_scope_id)s : %(reason)s."


class NetworkAddressScopeAffinityError(BadRequest):
    message = ("Subnets of the same address family hosted on the same network must all participate in the "
               "same address scope.")


class AddressScopePrefixConflict(Conflict):
    message = "Failed to associate address scope: subnetpools within an address scope must have unique prefixes."


class IllegalSubnetPoolAssociationToAddressScope(BadRequest):
    message = ("Illegal subnetpool association: subnetpool %(subnetpool_id)s cannot be associated with address "
               "scope %(address_scope_id)s.")


class IllegalSubnetPoolIpVersionAssociationToAddressScope(BadRequest):
    message = ("Illegal subnetpool association: subnetpool %(subnetpool_id)s cannot associate with address scope "
               "%(address_scope_id)s because subnetpool ip_version is not %(ip_version)s.")


class IllegalSubnetPoolUpdate(BadRequest):
    message = "Illegal subnetpool update : %(reason)s."


class AllowedAddressPairsMissingIP(InvalidInput):
    message = "AllowedAddressPair must contain ip_address"


class MacAddressGenerationFailure(NeutronException):
    status = 503
    message = "Unable to generate unique mac on network %(net_id)s."
