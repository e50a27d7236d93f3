"""Scenario models back to YAML (``xloudnet import`` writes its scenarios with this)."""

from __future__ import annotations

import yaml

from .schema import Scenario


class _Dumper(yaml.SafeDumper):
    """Block style for sections, flow style for small leaf mappings (one resource per line)."""


def _represent_dict(dumper: yaml.SafeDumper, data: dict):
    leaf = all(not isinstance(v, (dict, list)) or (isinstance(v, list) and all(not isinstance(i, (dict, list)) for i in v))
               for v in data.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=leaf and len(data) <= 8)


_Dumper.add_representer(dict, _represent_dict)


def dump(scenario: Scenario) -> str:
    """YAML text that ``loader.load`` reads back to an equal scenario (defaults left out)."""
    data = scenario.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


__all__ = ["dump"]
