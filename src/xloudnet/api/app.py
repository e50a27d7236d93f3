"""``create_app(plane, settings, identity)``: one process, three services under path prefixes.

``/identity`` (Keystone v3 subset), ``/networking`` (Neutron v2.0) and ``/simulation`` (the
analysis API). The catalog in every token points clients at these roots.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from starlette.requests import Request as HTTPRequest
from starlette.responses import Response

from ..control.neutron import NeutronAPI
from ..control.plane import ControlPlane
from ..identity import IdentityService
from ..settings import Settings
from ..analysis import Session
from .errors import install_error_handlers, json_response, neutron_error
from .identity_routes import auth_error_response, build_identity_router
from .limits import RequestGuard
from .networking import PREFIX, NetworkingEndpoint
from .urls import public_root
from .simulation_jobs import SimulationJobs
from .simulation_routes import build_simulation_router
from .workers import AnalysisLimits, FairPool



class NetworkingFastPath:
    """ASGI middleware answering every ``/networking`` request with the Neutron endpoint."""

    def __init__(self, app, endpoint: NetworkingEndpoint):
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == PREFIX or path.startswith(PREFIX + "/")):
            try:
                response = await self.endpoint.handle(HTTPRequest(scope, receive))
            except Exception as exc:  # noqa: BLE001 - still a Neutron error body, never a bare 500
                response = neutron_error(exc)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def analysis_limits(settings: Settings) -> AnalysisLimits:
    """The analysis bounds of ``settings`` (config-file keys: docs/limits.md)."""
    return AnalysisLimits(workers=settings.analysis_workers, queued_per_project=settings.analysis_queue_per_project,
                          jobs_per_project=settings.simulation_jobs_per_project,
                          jobs_kept=settings.simulation_jobs_kept,
                          job_ttl_seconds=settings.simulation_job_ttl_seconds,
                          processes=settings.simulation_processes and hasattr(os, "fork"))


def create_app(plane: ControlPlane, settings: Settings, identity: IdentityService | None = None) -> FastAPI:
    """Build the ASGI application serving ``plane`` with ``settings``."""
    identity = identity or IdentityService(settings)
    app = FastAPI(title="xloudnet", version="0.1.0", docs_url="/docs", openapi_url="/openapi.json")
    app.state.plane = plane
    app.state.identity = identity
    app.state.settings = settings

    def authenticate(token: str | None, request_id: str):
        if not token:
            return None
        info = identity.validate(token)
        return None if info is None else info.to_context(request_id)

    def unauthorized(request: HTTPRequest) -> Response:
        return auth_error_response(request, settings)

    neutron = NeutronAPI(plane, settings.pagination_max_limit)
    endpoint = NetworkingEndpoint(
        neutron,
        authenticate,
        unauthorized,
        settings.public_url,
        settings.max_body_bytes,
    )
    # /networking is the hot path: served straight from the outermost ASGI layer, skipping
    # FastAPI's routing and dependency machinery (a third of the per-request cost).
    app.add_middleware(NetworkingFastPath, endpoint=endpoint)
    # Outermost (added last): duplicate tokens, /simulation body limits, client disconnects.
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes)
    app.include_router(build_identity_router(identity, settings), prefix="/identity")
    app.state.authenticate = authenticate
    app.state.analysis = Session(plane, api=neutron, matrix_max_pairs=settings.matrix_max_pairs)
    limits = analysis_limits(settings)
    app.state.pool = FairPool(limits.workers)
    app.state.jobs = SimulationJobs(app.state.analysis, app.state.pool, limits)
    app.include_router(build_simulation_router(app.state.analysis, authenticate, app.state.pool, limits,
                                               app.state.jobs), prefix="/simulation")
    install_error_handlers(app, unauthorized)

    @app.get("/", include_in_schema=False)
    def index(request: HTTPRequest) -> Response:
        root = public_root(request.scope, settings.public_url)
        services = {
            "identity": f"{root}/identity/v3",
            "networking": f"{root}/networking",
            "simulation": f"{root}/simulation/v1",
        }
        return json_response(200, {"name": "xloudnet", "services": services})

    return app
