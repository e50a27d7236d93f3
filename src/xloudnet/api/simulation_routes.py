"""The analysis API under ``/simulation`` (catalog type ``network-simulation``).

Same tokens and project isolation as ``/networking``: a project asks about what it can see (ports
it may see, its own security groups), an admin about everything. Answers are the plain dicts of
``xloudnet.analysis``; this module only checks visibility and shapes HTTP.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request

from starlette.responses import Response

from .analysis_session import AnalysisSession
from .limits import cancel_token
from .simulation_jobs import SimulationJobs, add_simulation_job_routes
from .workers import AnalysisLimits, FairPool, dumps_in_pieces, project_key
from ..control.context import Context
from .errors import Unauthenticated, json_response

QUESTIONS = (
    ("reachability", "POST", "One flow: verdict, explained trace, return path, exact allowed set."),
    ("reachability/matrix", "POST", "All pairs of visible endpoints for one service."),
    ("whatif", "POST", "Apply Neutron API changes to a fork; flows newly allowed / blocked."),
    ("security-groups/test", "POST", "One flow against one port's groups: verdict and matching rules."),
    ("security-groups/lint", "GET", "Shadowed, redundant, over-broad rules; empty remote groups; unused groups."),
    ("topology", "GET", "Networks, subnets, routers, ports, floating IPs and routes as a graph (node-link)."),
    ("simulations", "POST", "Start a QoS packet simulation (a job: poll GET simulations/{id})."),
)

FLOW_EXAMPLE = {
    "source": {"port_id": "PORT-ID"},
    "destination": {"ip_address": "203.0.113.10"},
    "protocol": "tcp",
    "destination_port": 22,
}


def build_simulation_router(session: AnalysisSession, authenticate, pool: FairPool | None = None,
                            limits: AnalysisLimits | None = None, jobs: SimulationJobs | None = None) -> APIRouter:
    """Routes bound to one ``AnalysisSession`` (the plane plus a compiled-tables cache); questions
    run on ``pool`` (fair between projects, see ``workers``), never on the event loop."""
    router = APIRouter(tags=["simulation"])
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
    async def reachability(request: Request, body: dict[str, Any] = Body(..., examples=[FLOW_EXAMPLE]),
                           ctx: Context = Depends(caller)):
        return await offload(request, ctx, lambda cancelled: session.reachability(ctx, body))

    @router.post("/v1/reachability/matrix", summary="All pairs of visible endpoints")
    async def matrix(request: Request,
                     body: dict[str, Any] = Body(..., examples=[{"protocol": "tcp", "destination_port": 22}]),
                     ctx: Context = Depends(caller)):
        return await offload(request, ctx, lambda cancelled: session.matrix(ctx, body, cancelled=cancelled))

    @router.post("/v1/whatif", summary="Differential reachability after API changes (live state untouched)")
    async def whatif(request: Request, body: dict[str, Any] = Body(..., examples=[{"changes": [
            {"method": "DELETE", "path": "/v2.0/security-group-rules/RULE-ID"}], "protocol": "tcp",
            "destination_port": 22}]), ctx: Context = Depends(caller)):
        return await offload(request, ctx, lambda cancelled: session.whatif(ctx, body))

    @router.post("/v1/security-groups/test", summary="Which rules of a port's groups match a flow")
    async def sg_test(request: Request, body: dict[str, Any] = Body(..., examples=[{"port_id": "PORT-ID", "direction": "ingress",
            "protocol": "tcp", "destination_port": 22, "remote_ip_address": "198.51.100.7"}]),
            ctx: Context = Depends(caller)):
        return await offload(request, ctx, lambda cancelled: session.security_group_test(ctx, body))

    @router.get("/v1/security-groups/lint", summary="Rule hygiene findings")
    async def lint(request: Request, project_id: str | None = Query(None, description="admin only: restrict to one project"),
             ctx: Context = Depends(caller)):
        return await offload(request, ctx, lambda cancelled: session.lint(ctx, project_id))

    add_simulation_job_routes(router, session, caller, jobs or SimulationJobs(session, pool, limits))
    add_topology_route(router, session, caller)
    return router


def add_topology_route(router: APIRouter, session: AnalysisSession, caller) -> None:
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
            tables = session.tables()
            graph = build_topology(tables.snapshot, tables)
            service = {"protocol": protocol, "destination_port": destination_port, "source_port": source_port,
                       "icmp_type": icmp_type, "icmp_code": icmp_code, "ethertype": ethertype}
            reach_from(graph, reach_from_port, service)

        def can_see(kind: str, rid: str) -> bool:
            service = plane.services[f"{kind}s"]
            record = service.store.get(service.table, rid)
            return record is not None and service.visible(ctx, record)

        return json_response(200, to_json(graph if ctx.is_admin else visible_part(graph, can_see)))
