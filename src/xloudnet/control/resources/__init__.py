"""One module per Neutron resource: its attribute map (data) and its service (behaviour).

``SERVICES`` is the list the ``ControlPlane`` builds; order does not matter.
"""

from .address_groups import AddressGroupService
from .address_scopes import AddressScopeService
from .agents import AgentService
from .dhcp import DhcpAgentsHostingService, DhcpNetworksService
from .default_sg_rules import DefaultSecurityGroupRuleService
from .floatingips import FloatingIPService
from .ip_availability import NetworkIPAvailabilityService
from .networks import NetworkService
from .port_forwardings import PortForwardingService
from .ports import PortService
from .qos import QosPolicyService, QOS_EXTRA_SERVICES
from .rbac import RbacPolicyService
from .quotas import QuotaService
from .routers import RouterService
from .security_groups import SecurityGroupRuleService, SecurityGroupService
from .subnetpools import SubnetPoolService
from .subnets import SubnetService

SERVICES = (
    NetworkService,
    SubnetService,
    SubnetPoolService,
    AddressScopeService,
    PortService,
    SecurityGroupService,
    SecurityGroupRuleService,
    RouterService,
    FloatingIPService,
    PortForwardingService,
    QosPolicyService,
    *QOS_EXTRA_SERVICES,
    QuotaService,
    NetworkIPAvailabilityService,
    AgentService,
    DhcpNetworksService,
    DhcpAgentsHostingService,
    RbacPolicyService,
    DefaultSecurityGroupRuleService,
    AddressGroupService,
)

__all__ = ["SERVICES"]
