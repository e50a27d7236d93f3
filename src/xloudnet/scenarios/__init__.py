"""Scenario files: a network described once (YAML), provisioned through the control plane's
Neutron interpreter, its intents checked exactly and its traffic simulated.

- ``schema`` — the file format (pydantic models; ``json_schema()`` for editors);
- ``loader`` — YAML with line numbers, every problem as ``FILE:LINE: PATH: MESSAGE``;
- ``references`` — the name resolution rule and the checks made before provisioning;
- ``provision`` — the API calls that build the scenario in a ``ControlPlane``;
- ``endpoints``, ``services``, ``intents`` — selectors, service sets, intent checks;
- ``analysis_adapter`` — the one place the analyser and simulator are called;
- ``runner``, ``report`` — ``run_file`` and its JSON / JUnit reports.
"""

from .loader import Problem, ScenarioError, load
from .runner import ScenarioRun, build, run_file
from .schema import Intent, Scenario, json_schema

__all__ = ["Scenario", "Intent", "json_schema", "load", "Problem", "ScenarioError", "run_file", "build",
           "ScenarioRun"]
