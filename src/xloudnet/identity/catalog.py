"""The default service catalog: identity, network and network-simulation, each reachable at
``<base>/<prefix>`` on the public, internal and admin interfaces."""

from __future__ import annotations

import uuid

INTERFACES = ("public", "internal", "admin")

# (type, name, path under the base URL). The network URL is the *unversioned* root:
# openstacksdk, gophercloud and tempest all append /v2.0 themselves. The identity URL is
# unversioned too, as devstack publishes it; clients discover v3 from its 300 document.
SERVICES = (
    ("identity", "keystone", "/identity"),
    ("network", "neutron", "/networking"),
    ("network-simulation", "xloudnet", "/simulation"),
)

_NAMESPACE = uuid.UUID("5b0a9d0c-3f43-4a52-9d52-3b8f1f4e8a11")


def default_catalog(base_url: str, region: str) -> list[dict]:
    """The catalog published in every scoped token. Ids are derived from the service type
    and interface, so they stay the same for every token and every restart."""
    base = base_url.rstrip("/")
    return [_service(kind, name, base + path, region) for kind, name, path in SERVICES]


def _service(kind: str, name: str, url: str, region: str) -> dict:
    return {
        "id": _stable_id(kind),
        "type": kind,
        "name": name,
        "endpoints": [
            {
                "id": _stable_id(f"{kind}/{interface}/{region}"),
                "interface": interface,
                "region": region,
                "region_id": region,
                "url": url,
            }
            for interface in INTERFACES
        ],
    }


def _stable_id(key: str) -> str:
    return uuid.uuid5(_NAMESPACE, key).hex
