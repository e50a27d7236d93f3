"""SCAFFOLD — replaced by its owner. ports: attribute map and service."""

from __future__ import annotations

from .. import errors
from ..attributes import Attr, ResourceDef, name_attr, standard_attrs
from ..service import ResourceService

DEFINITION = ResourceDef(
    collection="ports",
    plural="ports",
    singular="port",
    not_found=errors.PortNotFound,
    not_found_arg="port_id",
    attrs=standard_attrs() + (name_attr(),),
)


class PortService(ResourceService):
    definition = DEFINITION
    table = "ports"
    attribute = "ports"
    indexes = ("project_id", "network_id", "device_id")

    def refresh_status_on_network(self, network_id: str) -> None:
        """Recompute port status after the network's admin state changed."""
