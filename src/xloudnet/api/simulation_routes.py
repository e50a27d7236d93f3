"""The analysis API under ``/simulation`` (catalog type ``network-simulation``).

Same tokens and project isolation as ``/networking``: a project asks about what it can see (ports
it may see, its own security groups), an admin about everything. Answers are the plain dicts of
``xloudnet.analysis``; this module only checks visibility and shapes HTTP.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request

from .analysis_session import AnalysisSession
from .simulation_jobs import add_simulation_job_routes
from ..control import errors
from ..control.context import Context
from .errors import Unauthenticated, json_response

QUESTIONS = (
    ("reachability", "POST", "One flow: verdict, explained trace, return path, exact allowed set."),
    ("reachability/matrix", "POST", "All pairs of visible endpoints for one service."),
    ("whatif", "POST", "Apply Neutron API changes to a fork; flows newly allowed / blocked."),
    ("security-groups/test", "POST", "One flow against one port's groups: verdict and matching rules."),
    ("security-groups/lint", "GET", "Shadowed, redundant, over-broad rules; empty remote groups; unused groups."),
    ("simulations", "POST", "Start a QoS packet simulation (a job: poll GET simulations/{id})."),
)

FLOW_EXAMPLE = {
    "source": {"port_id": "PORT-ID"},
    "destination": {"ip_address": "203.0.113.10"},
    "protocol": "tcp",
    "destination_port": 22,
}


def build_simulation_router(session: AnalysisSession, authenticate) -> APIRouter:
    """Routes bound to one ``AnalysisSession`` (the plane plus a compiled-tables cache)."""
    router = APIRouter(tags=["simulation"])

    def caller(request: Request) -> Context:
        ctx = authenticate(request.headers.get("x-auth-token"), None)
        if ctx is None:
            raise Unauthenticated()
        if ctx.project_id is None and not ctx.is_admin:
            # Questions default to "everything the caller can see" and jobs belong to a project:
            # a token without a project scope has neither (see docs/analysis.md).
            raise errors.PolicyNotAuthorized(action="rule:simulation (a project-scoped token is required)")
        return ctx

    @router.get("", include_in_schema=False)
    @router.get("/", summary="Version document (no token needed)")
    def versions(request: Request):
        root = str(request.base_url).rstrip("/") + "/simulation"
        version = {"id": "v1", "status": "CURRENT", "links": [{"rel": "self", "href": f"{root}/v1/"}]}
        return json_response(200, {"versions": [version]})

    @router.get("/v1", summary="The questions this API answers")
    @router.get("/v1/", include_in_schema=False)
    def index(request: Request, ctx: Context = Depends(caller)):
        root = str(request.base_url).rstrip("/") + "/simulation/v1"
        items = [{"name": n, "method": m, "href": f"{root}/{n}", "description": d} for n, m, d in QUESTIONS]
        return json_response(200, {"questions": items})

    @router.post("/v1/reachability", summary="Can this flow get through, and why (not)?")
    def reachability(body: dict[str, Any] = Body(..., examples=[FLOW_EXAMPLE]), ctx: Context = Depends(caller)):
        return json_response(200, session.reachability(ctx, body))

    @router.post("/v1/reachability/matrix", summary="All pairs of visible endpoints")
    def matrix(body: dict[str, Any] = Body(..., examples=[{"protocol": "tcp", "destination_port": 22}]),
               ctx: Context = Depends(caller)):
        return json_response(200, session.matrix(ctx, body))

    @router.post("/v1/whatif", summary="Differential reachability after API changes (live state untouched)")
    def whatif(body: dict[str, Any] = Body(..., examples=[{"changes": [
            {"method": "DELETE", "path": "/v2.0/security-group-rules/RULE-ID"}], "protocol": "tcp",
            "destination_port": 22}]), ctx: Context = Depends(caller)):
        return json_response(200, session.whatif(ctx, body))

    @router.post("/v1/security-groups/test", summary="Which rules of a port's groups match a flow")
    def sg_test(body: dict[str, Any] = Body(..., examples=[{"port_id": "PORT-ID", "direction": "ingress",
            "protocol": "tcp", "destination_port": 22, "remote_ip_address": "198.51.100.7"}]),
            ctx: Context = Depends(caller)):
        return json_response(200, session.security_group_test(ctx, body))

    @router.get("/v1/security-groups/lint", summary="Rule hygiene findings")
    def lint(project_id: str | None = Query(None, description="admin only: restrict to one project"),
             ctx: Context = Depends(caller)):
        return json_response(200, session.lint(ctx, project_id))

    add_simulation_job_routes(router, session, caller)
    return router
