"""Scenario files: a network described once (YAML), provisioned through the control plane's
Neutron interpreter, its intents checked exactly and its traffic simulated.

- ``schema`` — the file format (pydantic models; ``json_schema()`` for editors);
- ``loader`` — YAML with line numbers, every problem as ``FILE:LINE: PATH: MESSAGE``;
- ``references`` — the name resolution rule and the checks made before provisioning;
- ``provision`` — the API calls that build the scenario in a ``ControlPlane``;
- ``endpoints``, ``services``, ``intents`` — selectors, service sets, intent checks;
- ``analysis_adapter`` — the one place the analyser and simulator are called;
- ``runner``, ``report``, ``writer`` — ``run_file``, its JSON / JUnit reports, models → YAML.

Names load on first use: ``xloudnet serve`` imports this package and must not pay for numpy and
the data plane at start-up.
"""

from importlib import import_module

_WHERE = {"Scenario": "schema", "Intent": "schema", "json_schema": "schema", "load": "loader",
          "Problem": "loader", "ScenarioError": "loader", "run_file": "runner", "build": "runner",
          "ScenarioRun": "runner", "dump": "writer"}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(name)
