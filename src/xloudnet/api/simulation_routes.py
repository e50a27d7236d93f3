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
from starlette.responses import Response

from ..analysis import Session
from ..analysis.models import (LintAnswer, LintQuestion, MatrixAnswer, MatrixQuestion, QuestionIndex, ReachAnswer,
                               ReachQuestion, SGTestAnswer, SGTestQuestion, Versions, WhatIfAnswer, WhatIfQuestion)
from ..analysis.models.common import Id
from ..control import errors
from ..control.context import Context
from .errors import Unauthenticated, json_response
from .limits import cancel_token
from .simulation_jobs import SimulationJobs, add_simulation_job_routes
from .workers import AnalysisLimits, FairPool, dumps_in_pieces, project_key

QUESTIONS = (
    ("reachability", "POST", "One flow: verdict, explained trace, return path, exact allowed set."),
    ("reachability/matrix", "POST", "All pairs of visible endpoints for one service."),
    ("whatif", "POST", "Apply Neutron API changes to a fork; flows newly allowed / blocked."),
    ("security-groups/test", "POST", "One flow against one port's groups: verdict and matching rules."),
    ("security-groups/lint", "GET", "Shadowed, redundant, over-broad rules; empty remote groups; unused groups."),
    ("simulations", "POST", "Start a QoS packet simulation (a job: poll GET simulations/{id}); with 'changes' "
                            "a QoS what-if: every flow before and after the changes."),
    ("topology", "GET", "Networks, subnets, routers, ports, floating IPs and routes as a graph (node-link)."),
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


def build_simulation_router(session: Session, authenticate, pool: FairPool | None = None,
                            limits: AnalysisLimits | None = None, jobs: SimulationJobs | None = None) -> APIRouter:
    """Routes over one ``Session`` (the plane and its compiled-tables cache); each request asks
    as its caller (``session.as_caller``), on ``pool`` (fair between projects, see ``workers``),
    never on the event loop."""
    router = APIRouter(tags=["simulation"], responses=ERRORS)
    limits = limits or AnalysisLimits()
    pool = pool or FairPool(limits.workers)

    async def offload(request: Request, ctx: Context, answer) -> Response:
        """``answer(cancelled)`` on the pool, serialised there too; ``cancelled()`` turns true
        when the client goes away (long questions check it between chunks)."""
        cancel = cancel_token(request.scope)

        def work() -> Response:
            if cancel.is_set():  # the client left while the question waited: skip the work
                return Response(status_code=499)
            return Response(dumps_in_pieces(answer(cancel.is_set)), media_type="application/json")
        return await pool.run(project_key(ctx), work, limit=limits.queued_per_project)

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
    async def reachability(request: Request, body: Annotated[ReachQuestion, Body(examples=[FLOW_EXAMPLE])],
                           asker: Session = Depends(asking)):
        return await offload(request, asker.context, lambda cancelled: asker.reach(body).json_body())

    @router.post("/v1/reachability/matrix", summary="All pairs of visible endpoints", response_model=MatrixAnswer)
    async def matrix(request: Request,
                     body: Annotated[MatrixQuestion, Body(examples=[{"protocol": "tcp", "destination_port": 22}])],
                     asker: Session = Depends(asking)):
        return await offload(request, asker.context,
                             lambda cancelled: asker.matrix(body, cancelled=cancelled).json_body())

    @router.post("/v1/whatif", summary="Differential reachability after API changes (live state untouched)",
                 response_model=WhatIfAnswer)
    async def whatif(request: Request, body: Annotated[WhatIfQuestion, Body(examples=[WHATIF_EXAMPLE])],
                     asker: Session = Depends(asking)):
        return await offload(request, asker.context, lambda cancelled: asker.whatif(body).json_body())

    @router.post("/v1/security-groups/test", summary="Which rules of a port's groups match a flow",
                 response_model=SGTestAnswer)
    async def sg_test(request: Request, body: Annotated[SGTestQuestion, Body(examples=[SGTEST_EXAMPLE])],
                      asker: Session = Depends(asking)):
        return await offload(request, asker.context, lambda cancelled: asker.sgtest(body).json_body())

    @router.get("/v1/security-groups/lint", summary="Rule hygiene findings", response_model=LintAnswer)
    async def lint(request: Request,
                   project_id: Annotated[Id | None, Query(description="admin only: restrict to one project")] = None,
                   asker: Session = Depends(asking)):
        question = LintQuestion(project_id=project_id)
        return await offload(request, asker.context, lambda cancelled: asker.lint(question).json_body())

    add_simulation_job_routes(router, session, caller, jobs or SimulationJobs(session, pool, limits))
    add_topology_route(router, session, caller)
    return router


def add_topology_route(router: APIRouter, session: Session, caller) -> None:
    """``GET /v1/topology[?reach_from=PORT&protocol=&destination_port=…]``: the part of the graph
    the caller may see (invisible neighbours as ``KIND:hidden-N`` stubs), node-link JSON."""
    from ..analysis.topology import TopologyGraph  # the answer's schema, for the OpenAPI document

    @router.get("/v1/topology", summary="The visible topology as a graph (node-link JSON)",
                responses={200: {"model": TopologyGraph}})
    def topology(reach_from_port: str | None = Query(None, alias="reach_from",
                                                      description="colour by what this port can reach"),
                 protocol: str | None = Query(None), destination_port: int | None = Query(None),
                 source_port: int | None = Query(None),
                 icmp_type: int | None = Query(None), icmp_code: int | None = Query(None),
                 ethertype: str | None = Query(None), ctx: Context = Depends(caller)):
        from ..analysis.topology import build_topology, reach_from, to_json, visible_part

        plane = session.plane
        if reach_from_port is None:
            graph = build_topology(plane.snapshot())
        else:
            plane.ports.get(ctx, reach_from_port)  # 404 unless the caller may see it
            tables = session.live.tables()
            graph = build_topology(tables.snapshot, tables)
            service = {"protocol": protocol, "destination_port": destination_port, "source_port": source_port,
                       "icmp_type": icmp_type, "icmp_code": icmp_code, "ethertype": ethertype}
            reach_from(graph, reach_from_port, service)

        def can_see(kind: str, rid: str) -> bool:
            service = plane.services[f"{kind}s"]
            record = service.store.get(service.table, rid)
            return record is not None and service.visible(ctx, record)

        return json_response(200, to_json(graph if ctx.is_admin else visible_part(graph, can_see)))
