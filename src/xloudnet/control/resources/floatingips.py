"""SCAFFOLD — replaced by its owner. floatingips: attribute map and service."""

from __future__ import annotations

from .. import errors
from ..attributes import Attr, ResourceDef, name_attr, standard_attrs
from ..service import ResourceService

DEFINITION = ResourceDef(
    collection="floatingips",
    plural="floatingips",
    singular="floatingip",
    not_found=errors.FloatingIPNotFound,
    not_found_arg="floatingip_id",
    attrs=standard_attrs() + (name_attr(),),
)


class FloatingIPService(ResourceService):
    definition = DEFINITION
    table = "floatingips"
    attribute = "floatingips"
