"""The analysis API under ``/simulation`` (catalog type ``network-simulation``).

Same tokens and project isolation as ``/networking``: a project asks about what it can see (ports
it may see, its own security groups), an admin about everything; a token without a project
scope is refused (403). Bodies are the pydantic models of ``xloudnet.analysis.models`` (FastAPI
checks them; a wrong body is a Neutron-style 400), answers come from ``xloudnet.analysis.Session``;
this module only authenticates and shapes HTTP.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel

from ..analysis import Session
from ..analysis.models import (LintAnswer, LintQuestion, MatrixAnswer, MatrixQuestion, QuestionIndex, ReachAnswer,
                               ReachQuestion, SGTestAnswer, SGTestQuestion, Versions, WhatIfAnswer, WhatIfQuestion)
from ..analysis.models.common import Id
from ..control import errors
from ..control.context import Context
from .errors import Unauthenticated, json_response
from .simulation_jobs import add_simulation_job_routes

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
WHATIF_EXAMPLE = {"changes": [{"method": "DELETE", "path": "/v2.0/security-group-rules/RULE-ID"}],
                  "protocol": "tcp", "destination_port": 22}
SGTEST_EXAMPLE = {"port_id": "PORT-ID", "direction": "ingress", "protocol": "tcp", "destination_port": 22,
                  "remote_ip_address": "198.51.100.7"}


class NeutronErrorDetail(BaseModel):
    type: str
    message: str
    detail: str


class NeutronErrorBody(BaseModel):
    """Every 4xx of this API but 401: Neutron's error body."""

    NeutronError: NeutronErrorDetail


class KeystoneErrorDetail(BaseModel):
    code: int
    title: str
    message: str


class KeystoneErrorBody(BaseModel):
    """401 (no valid token), as Keystone words it."""

    error: KeystoneErrorDetail


# Declared for every route: a wrong body is a Neutron-style 400 here, never FastAPI's 422.
ERRORS = {401: {"model": KeystoneErrorBody, "description": "No valid token"},
          "4XX": {"model": NeutronErrorBody, "description": "Bad input, not allowed, not found, conflict"}}


def build_simulation_router(session: Session, authenticate) -> APIRouter:
    """Routes over one ``Session`` (the plane and its compiled-tables cache); each request asks
    as its caller (``session.as_caller``)."""
    router = APIRouter(tags=["simulation"], responses=ERRORS)

    def caller(request: Request) -> Context:
        ctx = authenticate(request.headers.get("x-auth-token"), None)
        if ctx is None:
            raise Unauthenticated()
        if ctx.project_id is None and not ctx.is_admin:
            # Questions default to "everything the caller can see" and jobs belong to a project:
            # a token without a project scope has neither (see docs/analysis.md).
            raise errors.PolicyNotAuthorized(action="rule:simulation (a project-scoped token is required)")
        return ctx

    def asking(ctx: Context = Depends(caller)) -> Session:
        return session.as_caller(ctx)

    @router.get("", include_in_schema=False)
    @router.get("/", summary="Version document (no token needed)", response_model=Versions)
    def versions(request: Request):
        root = str(request.base_url).rstrip("/") + "/simulation"
        version = {"id": "v1", "status": "CURRENT", "links": [{"rel": "self", "href": f"{root}/v1/"}]}
        return json_response(200, {"versions": [version]})

    @router.get("/v1", summary="The questions this API answers", response_model=QuestionIndex)
    @router.get("/v1/", include_in_schema=False)
    def index(request: Request, ctx: Context = Depends(caller)):
        root = str(request.base_url).rstrip("/") + "/simulation/v1"
        items = [{"name": n, "method": m, "href": f"{root}/{n}", "description": d} for n, m, d in QUESTIONS]
        return json_response(200, {"questions": items})

    @router.post("/v1/reachability", summary="Can this flow get through, and why (not)?", response_model=ReachAnswer)
    def reachability(body: Annotated[ReachQuestion, Body(examples=[FLOW_EXAMPLE])], asker: Session = Depends(asking)):
        return json_response(200, asker.reach(body).json_body())

    @router.post("/v1/reachability/matrix", summary="All pairs of visible endpoints", response_model=MatrixAnswer)
    def matrix(body: Annotated[MatrixQuestion, Body(examples=[{"protocol": "tcp", "destination_port": 22}])],
               asker: Session = Depends(asking)):
        return json_response(200, asker.matrix(body).json_body())

    @router.post("/v1/whatif", summary="Differential reachability after API changes (live state untouched)",
                 response_model=WhatIfAnswer)
    def whatif(body: Annotated[WhatIfQuestion, Body(examples=[WHATIF_EXAMPLE])], asker: Session = Depends(asking)):
        return json_response(200, asker.whatif(body).json_body())

    @router.post("/v1/security-groups/test", summary="Which rules of a port's groups match a flow",
                 response_model=SGTestAnswer)
    def sg_test(body: Annotated[SGTestQuestion, Body(examples=[SGTEST_EXAMPLE])], asker: Session = Depends(asking)):
        return json_response(200, asker.sgtest(body).json_body())

    @router.get("/v1/security-groups/lint", summary="Rule hygiene findings", response_model=LintAnswer)
    def lint(project_id: Annotated[Id | None, Query(description="admin only: restrict to one project")] = None,
             asker: Session = Depends(asking)):
        return json_response(200, asker.lint(LintQuestion(project_id=project_id)).json_body())

    add_simulation_job_routes(router, session, caller)
    return router
