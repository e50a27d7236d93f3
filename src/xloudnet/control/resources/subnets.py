"""SCAFFOLD — replaced by its owner. subnets: attribute map and service."""

from __future__ import annotations

from .. import errors
from ..attributes import Attr, ResourceDef, name_attr, standard_attrs
from ..service import ResourceService

DEFINITION = ResourceDef(
    collection="subnets",
    plural="subnets",
    singular="subnet",
    not_found=errors.SubnetNotFound,
    not_found_arg="subnet_id",
    attrs=standard_attrs() + (name_attr(),),
)


class SubnetService(ResourceService):
    definition = DEFINITION
    table = "subnets"
    attribute = "subnets"
