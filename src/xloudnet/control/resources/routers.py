"""SCAFFOLD — replaced by its owner. routers: attribute map and service."""

from __future__ import annotations

from .. import errors
from ..attributes import Attr, ResourceDef, name_attr, standard_attrs
from ..service import ResourceService

DEFINITION = ResourceDef(
    collection="routers",
    plural="routers",
    singular="router",
    not_found=errors.RouterNotFound,
    not_found_arg="router_id",
    attrs=standard_attrs() + (name_attr(),),
)


class RouterService(ResourceService):
    definition = DEFINITION
    table = "routers"
    attribute = "routers"
