"""QoS simulation jobs under ``/simulation/v1/simulations`` (docs/simulation.md).

- ``POST /v1/simulations`` — validates the request at once (bad input → 400, an endpoint the
  caller cannot see or that does not exist → 404, both with Neutron's error body), then starts
  the run in a background thread and answers **202 Accepted** with
  ``{"simulation": {"id", "status": "BUILD", "progress": 0.0, ...}}`` and a ``Location`` header;
- ``GET /v1/simulations/{id}`` — ``status`` (``BUILD`` queued, ``RUNNING``, ``ACTIVE`` done,
  ``ERROR``), ``progress`` 0..1, and ``result`` once ``ACTIVE`` (``error`` once ``ERROR``);
- ``GET /v1/simulations`` — the caller's project's jobs, newest first, without results;
- ``DELETE /v1/simulations/{id}`` — forget a job (a running one stops at its next progress step); 204.

Jobs belong to the project of the token that started them: another project's job is 404 (admin
included — jobs are not shared). At most ``MAX_JOBS`` are kept (the oldest finished one is
forgotten to make room; when every kept job is unfinished a new one is refused with 409
``OverQuota``) and ``MAX_RUNNING`` run at once (the others wait in ``BUILD``). Results name
only what the caller may see: other projects' ports, routers and rules become ``hidden``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Request

from ..analysis.models import SimulationJobBody, SimulationJobList, SimulationRequest
from ..control import errors
from ..control.context import Context
from .errors import json_response

MAX_JOBS = 32
MAX_RUNNING = 2

EXAMPLE = {"flows": [{"source": {"port_id": "PORT-A"}, "destination": {"port_id": "PORT-B"},
                      "protocol": "udp", "destination_port": 5001, "rate_kbps": 20000}],
           "duration_s": 5, "seed": 1}


JobId = Annotated[str, Path(max_length=64)]


class _Cancelled(Exception):
    pass


class Job:
    """One simulation run and what is known of it so far."""

    def __init__(self, project_id: str | None, flows: int, duration_s: float):
        self.id = str(uuid.uuid4())
        self.project_id = project_id
        self.status = "BUILD"
        self.progress = 0.0
        self.flows = flows
        self.duration_s = duration_s
        self.created_at = self.updated_at = _now()
        self.result: dict | None = None
        self.error: str | None = None
        self.cancelled = False

    @property
    def finished(self) -> bool:
        return self.status in ("ACTIVE", "ERROR")

    def view(self, with_result: bool) -> dict:
        body = {"id": self.id, "status": self.status, "progress": round(self.progress, 4),
                "project_id": self.project_id, "flows": self.flows, "duration_s": self.duration_s,
                "created_at": self.created_at, "updated_at": self.updated_at}
        if self.error is not None:
            body["error"] = self.error
        if with_result and self.result is not None:
            body["result"] = self.result
        return body


class SimulationJobs:
    """The kept jobs (bounded), and the threads that run them."""

    def __init__(self, session, max_jobs: int = MAX_JOBS, max_running: int = MAX_RUNNING):
        self.session = session
        self.max_jobs = max_jobs
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self.lock = threading.Lock()
        self.slots = threading.Semaphore(max_running)

    def start(self, ctx: Context, body: SimulationRequest) -> dict:
        """Check ``body`` now (raising 400/404), then run it in the background; the job's
        view as created (``BUILD``)."""
        prepared = self.session.as_caller(ctx).prepare_simulation(body)
        job = Job(ctx.project_id, prepared.flows, prepared.duration_s)
        job.owner = owner(ctx)
        with self.lock:
            self._make_room()
            self.jobs[job.id] = job
        thread = threading.Thread(target=self._run, args=(job, prepared),
                                  name=f"simulation-{job.id[:8]}", daemon=True)
        created = job.view(False)
        thread.start()
        return created

    def _make_room(self) -> None:
        while len(self.jobs) >= self.max_jobs:
            oldest = next((j for j in self.jobs.values() if j.finished), None)
            if oldest is None:
                raise errors.OverQuota(overs="simulations")
            del self.jobs[oldest.id]

    def _run(self, job: Job, prepared) -> None:
        from ..analysis import QueryError

        def progress(fraction: float) -> None:
            if job.cancelled:
                raise _Cancelled()
            job.progress = fraction
            job.updated_at = _now()

        with self.slots:
            if job.cancelled:
                return
            job.status, job.updated_at = "RUNNING", _now()
            try:
                job.result = prepared.run(progress).json_body()
                job.status, job.progress = "ACTIVE", 1.0
            except _Cancelled:
                return
            except QueryError as exc:
                job.status, job.error = "ERROR", exc.message
            except Exception as exc:  # a bug: reported on the job, never a dead thread
                job.status, job.error = "ERROR", f"internal error: {type(exc).__name__}"
            job.updated_at = _now()

    def get(self, ctx: Context, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None or job.owner != owner(ctx):
            raise errors.HTTPNotFound(f"Simulation {job_id} could not be found.")
        return job

    def list(self, ctx: Context) -> list[Job]:
        with self.lock:
            return [j for j in reversed(self.jobs.values()) if j.owner == owner(ctx)]

    def delete(self, ctx: Context, job_id: str) -> None:
        job = self.get(ctx, job_id)
        job.cancelled = True
        with self.lock:
            self.jobs.pop(job.id, None)


def add_simulation_job_routes(router: APIRouter, session, caller_dependency) -> SimulationJobs:
    """Add the four job routes to ``router`` (mounted under ``/simulation``); ``session`` is the
    app's analysis ``Session``, ``caller_dependency`` the FastAPI dependency giving the ``Context``.
    Returns the job registry (tests and the app may inspect it)."""
    jobs = SimulationJobs(session)

    @router.post("/v1/simulations", status_code=202, summary="Start a QoS packet simulation (202 + job)",
                 response_model=SimulationJobBody)
    def start(request: Request, body: Annotated[SimulationRequest, Body(examples=[EXAMPLE])],
              ctx: Context = Depends(caller_dependency)):
        job = jobs.start(ctx, body)
        location = str(request.url).rstrip("/") + "/" + job["id"]
        return json_response(202, {"simulation": job}, {"Location": location})

    @router.get("/v1/simulations", summary="The caller's project's simulation jobs", response_model=SimulationJobList)
    def listing(ctx: Context = Depends(caller_dependency)):
        return json_response(200, {"simulations": [j.view(False) for j in jobs.list(ctx)]})

    @router.get("/v1/simulations/{job_id}", summary="Status, progress, and the result when done",
                response_model=SimulationJobBody)
    def show(job_id: JobId, ctx: Context = Depends(caller_dependency)):
        return json_response(200, {"simulation": jobs.get(ctx, job_id).view(True)})

    @router.delete("/v1/simulations/{job_id}", status_code=204, summary="Forget (and stop) a job")
    def forget(job_id: JobId, ctx: Context = Depends(caller_dependency)):
        jobs.delete(ctx, job_id)
        return json_response(204, None)

    return jobs


def owner(ctx: Context) -> str:
    """The namespace of a caller's jobs: its project, or for an admin token without a project
    scope the user alone (never one namespace shared by every project-less caller)."""
    return f"project:{ctx.project_id}" if ctx.project_id is not None else f"user:{ctx.user_id}"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
