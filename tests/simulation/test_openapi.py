"""The OpenAPI document describes every ``/simulation`` endpoint with typed bodies."""

from __future__ import annotations

ANSWERS = {
    ("post", "/simulation/v1/reachability"): ("ReachQuestion", "200", "ReachAnswer"),
    ("post", "/simulation/v1/reachability/matrix"): ("MatrixQuestion", "200", "MatrixAnswer"),
    ("post", "/simulation/v1/whatif"): ("WhatIfQuestion", "200", "WhatIfAnswer"),
    ("post", "/simulation/v1/security-groups/test"): ("SGTestQuestion", "200", "SGTestAnswer"),
    ("get", "/simulation/v1/security-groups/lint"): (None, "200", "LintAnswer"),
    ("post", "/simulation/v1/simulations"): ("SimulationRequest", "202", "SimulationJobBody"),
    ("get", "/simulation/v1/simulations"): (None, "200", "SimulationJobList"),
    ("get", "/simulation/v1/simulations/{job_id}"): (None, "200", "SimulationJobBody"),
    ("get", "/simulation/v1/topology"): (None, "200", "TopologyGraph"),
    ("get", "/simulation/v1"): (None, "200", "QuestionIndex"),
    ("get", "/simulation/"): (None, "200", "Versions"),
}


def _ref(schema) -> str | None:
    return (schema or {}).get("$ref", "").rpartition("/")[2] or None


def test_every_simulation_endpoint_has_typed_request_and_answer_bodies(client):
    doc = client.get("/openapi.json").json()
    operations = {(m, p): op for p, ops in doc["paths"].items() if p.startswith("/simulation") for m, op in ops.items()}
    assert set(operations) == set(ANSWERS) | {("delete", "/simulation/v1/simulations/{job_id}")}
    for key, (question, status, answer) in ANSWERS.items():
        op = operations[key]
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        assert _ref(body) == question, key
        assert _ref(op["responses"][status]["content"]["application/json"]["schema"]) == answer, key


def test_errors_are_documented_in_the_projects_format_not_as_422(client):
    doc = client.get("/openapi.json").json()
    for path, ops in doc["paths"].items():
        if path.startswith("/simulation"):
            for op in ops.values():
                assert "422" not in op["responses"]
                assert _ref(op["responses"]["4XX"]["content"]["application/json"]["schema"]) == "NeutronErrorBody"


def test_question_schemas_refuse_unknown_keys_and_bound_strings(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("ReachQuestion", "MatrixQuestion", "WhatIfQuestion", "SGTestQuestion", "SimulationRequest",
                 "Endpoint", "SimulatedFlow"):
        assert schemas[name]["additionalProperties"] is False, name
    port_id = schemas["Endpoint"]["properties"]["port_id"]["anyOf"][0]
    assert port_id["maxLength"] == 64
    assert schemas["Endpoint"]["properties"]["ip_address"]["anyOf"][0]["maxLength"] == 45
