"""SCAFFOLD — replaced by its owner. Security groups and rules."""

from __future__ import annotations

from .. import errors
from ..attributes import Attr, ResourceDef, name_attr, standard_attrs
from ..service import ResourceService

SECURITY_GROUP = ResourceDef(
    collection="security-groups",
    plural="security_groups",
    singular="security_group",
    not_found=errors.SecurityGroupNotFound,
    attrs=standard_attrs() + (name_attr(),),
)
SECURITY_GROUP_RULE = ResourceDef(
    collection="security-group-rules",
    plural="security_group_rules",
    singular="security_group_rule",
    not_found=errors.SecurityGroupRuleNotFound,
    tags=False,
    attrs=standard_attrs(tags=False),
)


class SecurityGroupService(ResourceService):
    definition = SECURITY_GROUP
    table = "security_groups"
    attribute = "security_groups"

    def ensure_default(self, project_id: str) -> None:
        """Create the project's default group on first need."""


class SecurityGroupRuleService(ResourceService):
    definition = SECURITY_GROUP_RULE
    table = "security_group_rules"
    attribute = "security_group_rules"
