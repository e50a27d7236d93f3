"""SCAFFOLD — replaced by its owner. QoS policies, rules and rule types."""

from __future__ import annotations

from .. import errors
from ..attributes import ResourceDef, name_attr, standard_attrs
from ..service import ResourceService

QOS_POLICY = ResourceDef(
    collection="qos/policies",
    plural="policies",
    singular="policy",
    not_found=errors.QosPolicyNotFound,
    not_found_arg="policy_id",
    attrs=standard_attrs() + (name_attr(),),
)


class QosPolicyService(ResourceService):
    definition = QOS_POLICY
    table = "qos_policies"
    attribute = "qos_policies"

    def get_usable(self, ctx, policy_id: str) -> dict:
        return self.get(ctx, policy_id)


QOS_EXTRA_SERVICES = ()
