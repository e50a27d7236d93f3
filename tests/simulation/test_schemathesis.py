"""Schemathesis over the ``/simulation`` part of the OpenAPI document, in-process (ASGI), with a
demo token injected: generated requests — valid and invalid — never get a 5xx, and every answer
(status, content type, body) conforms to the document.

Bounded so that it runs in CI by default: ``MAX_EXAMPLES`` per operation, about a minute in all on
a loaded 2-core machine.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks
from sim_helpers import PASSWORD, Caller, build_topology, login

from xloudnet.api.app import create_app
from xloudnet.control.plane import ControlPlane
from xloudnet.settings import Settings

MAX_EXAMPLES = 40
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance]

_plane = ControlPlane()
_app = create_app(_plane, Settings(password=PASSWORD))
_http = TestClient(_app)
_callers = [Caller(_http, login(_http, user)) for user in ("admin", "demo", "alt_demo")]
_topology = build_topology(*_callers)  # real ids exist, so some generated questions find their ends
TOKEN = _callers[1].token

pytestmark = pytest.mark.schemathesis  # selected by default: CI runs plain `python -m pytest`

schema = schemathesis.openapi.from_asgi("/openapi.json", _app).include(path_regex=r"^/simulation")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
def test_simulation_api_conforms_to_its_openapi_document_and_never_fails(case):
    case.call_and_validate(headers={"X-Auth-Token": TOKEN}, checks=CHECKS)
