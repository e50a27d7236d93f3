"""Scenario files: a network described once (YAML), provisioned through the control plane's
Neutron interpreter, its intents checked and its traffic simulated.

- ``schema`` — the file format (pydantic models; ``json_schema()`` for editors);
"""

from .schema import Intent, Scenario, json_schema

__all__ = ["Scenario", "Intent", "json_schema"]
