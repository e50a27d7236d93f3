"""QoS simulation jobs under ``/simulation/v1/simulations`` (docs/simulation.md).

- ``POST /v1/simulations`` — validates the request at once (bad input → 400, an endpoint the
  caller cannot see or that does not exist → 404, both with Neutron's error body), then queues
  the run and answers **202 Accepted** with ``{"simulation": {"id", "status": "BUILD",
  "progress": 0.0, ...}}`` and a ``Location`` header;
- ``GET /v1/simulations/{id}`` — ``status`` (``BUILD`` queued, ``RUNNING``, ``ACTIVE`` done,
  ``ERROR``, ``CANCELLED`` stopped by a server shutdown), ``progress`` 0..1, and ``result`` once
  ``ACTIVE`` (``error`` once ``ERROR`` or ``CANCELLED``);
- ``GET /v1/simulations`` — the caller's project's jobs, newest first, without results;
- ``DELETE /v1/simulations/{id}`` — forget a job (a running one stops at its next step); 204.

Jobs belong to the project of the token that started them: another project's job is 404 (admin
included — jobs are not shared). Each project has its own quota and queue (``AnalysisLimits``):
at most ``jobs_per_project`` unfinished jobs (one more is 409 ``OverQuota`` — for that project
only), at most ``jobs_kept`` finished ones (the oldest is forgotten to make room), each forgotten
``job_ttl_seconds`` after it finished. Runs share the server's ``FairPool`` in short slices, so a
project's long jobs never hold up another project's.

A job keeps only its summary and its result, serialised once (bytes); the request, the compiled
tables and the simulator are released when the run ends, and everything when the job is
forgotten. Results name only what the caller may see: other projects' ports, routers and rules
become ``hidden``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Annotated

import orjson
from fastapi import APIRouter, Body, Depends, Path, Request
from starlette.responses import Response

from ..analysis.models import SimulationJobBody, SimulationJobList, SimulationRequest
from ..control import errors
from ..control.context import Context
from .errors import json_response
from .workers import AnalysisLimits, FairPool, PoolClosed

MAX_ERROR_CHARS = 500  # error messages may quote request strings: kept bounded

EXAMPLE = {"flows": [{"source": {"port_id": "PORT-A"}, "destination": {"port_id": "PORT-B"},
                      "protocol": "udp", "destination_port": 5001, "rate_kbps": 20000}],
           "duration_s": 5, "seed": 1}

WHATIF_EXAMPLE = {**EXAMPLE, "changes": [
    {"method": "PUT", "path": "/v2.0/qos/policies/POLICY-ID/bandwidth_limit_rules/RULE-ID",
     "body": {"bandwidth_limit_rule": {"max_kbps": 200000}}}]}

UNFINISHED = ("BUILD", "RUNNING")
JobId = Annotated[str, Path(max_length=64)]


class Job:
    """One simulation run: what is known of it so far, and (while it runs) its step generator."""

    __slots__ = ("id", "project_id", "status", "progress", "flows", "duration_s", "created_at",
                 "updated_at", "finished_at", "result_json", "error", "cancelled", "steps", "child", "prepared",
                 "changes", "__weakref__")

    def __init__(self, project_id: str | None, flows: int, duration_s: float, changes: int | None = None):
        self.id = str(uuid.uuid4())
        self.project_id = project_id
        self.status = "BUILD"
        self.progress = 0.0
        self.flows = flows
        self.duration_s = duration_s
        self.created_at = self.updated_at = _now()
        self.finished_at: float | None = None  # monotonic, for expiry
        self.result_json: bytes | None = None
        self.error: str | None = None
        self.cancelled = False
        self.steps = None
        self.child = None  # the ChildRun while the job runs in a child process
        self.prepared = None  # the checked run: what the caller may see of its result
        self.changes = changes  # a QoS what-if: how many changes its after-state applies

    @property
    def finished(self) -> bool:
        return self.status not in UNFINISHED

    def view(self) -> dict:
        body = {"id": self.id, "status": self.status, "progress": round(self.progress, 4),
                "project_id": self.project_id, "flows": self.flows, "duration_s": self.duration_s,
                "created_at": self.created_at, "updated_at": self.updated_at}
        if self.changes is not None:
            body["changes"] = self.changes
        if self.error is not None:
            body["error"] = self.error
        return body

    def document(self) -> bytes:
        """``{"simulation": view + result}`` as JSON, splicing in the stored result bytes."""
        view = orjson.dumps(self.view())
        if self.result_json is not None:
            view = view[:-1] + b',"result":' + self.result_json + b"}"
        return b'{"simulation":' + view + b"}"

    def end(self, status: str, error: str | None = None) -> None:
        """Finish: drop the run (request, tables, simulator) and keep only the summary."""
        steps, self.steps = self.steps, None
        self.prepared = None
        if steps is not None:
            steps.close()
        self.status = status
        if error is not None:
            self.error = error[:MAX_ERROR_CHARS]
        self.updated_at = _now()
        self.finished_at = time.monotonic()


class SimulationJobs:
    """Every project's jobs (each project bounded), run in slices on a shared ``FairPool``."""

    def __init__(self, session, pool: FairPool | None = None, limits: AnalysisLimits | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.session = session
        self.limits = limits or AnalysisLimits()
        self.pool = pool or FairPool(self.limits.workers, name="simulation")
        self.clock = clock
        self.projects: dict[str, OrderedDict[str, Job]] = {}
        # Child-process mode: each project's jobs wait here and run one at a time.
        self.waiting: dict[str, deque] = {}
        self.running: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.closed = False

    @property
    def jobs(self) -> dict[str, Job]:
        """Every kept job by id (a copy; for inspection)."""
        with self.lock:
            return {jid: j for jobs in self.projects.values() for jid, j in jobs.items()}

    def start(self, ctx: Context, body: SimulationRequest) -> dict:
        """Check ``body`` now (raising 400/404; with ``changes``, a refused change is that API
        error), then queue it; the job's view as created."""
        key = owner(ctx)
        self._check_room(key)  # before the (costlier) checks: a project over quota pays nothing
        asker = self.session.as_caller(ctx)
        if body.changes is not None:  # a QoS what-if: the same traffic before and after the changes
            prepared = asker.prepare_qos_whatif(body)
            job = Job(ctx.project_id, prepared.flows, prepared.duration_s, prepared.changes_applied)
        else:
            prepared = asker.prepare_simulation(body)
            job = Job(ctx.project_id, prepared.flows, prepared.duration_s)
        job.prepared = prepared
        job.steps = prepared.steps()
        with self.lock:
            if self.closed:
                raise errors.ServiceUnavailable()
            self._check_room(key, locked=True)
            self.projects.setdefault(key, OrderedDict())[job.id] = job
        created = job.view()
        if self.limits.processes:
            with self.lock:
                self.waiting.setdefault(key, deque()).append((ctx, job))
            self._advance(key)
        else:
            self._queue(ctx, job, front=False)
        return created

    def _check_room(self, key: str, locked: bool = False) -> None:
        if not locked:
            with self.lock:
                return self._check_room(key, locked=True)
        jobs = self._prune(key)
        if sum(1 for j in jobs.values() if not j.finished) >= self.limits.jobs_per_project:
            raise errors.OverQuota(overs="simulations")
        finished = [j for j in jobs.values() if j.finished]
        for job in finished[: max(0, len(finished) - self.limits.jobs_kept + 1)]:
            del jobs[job.id]

    def _prune(self, key: str) -> OrderedDict:
        """The project's jobs, after forgetting those finished more than the TTL ago (lock held)."""
        jobs = self.projects.get(key)
        if jobs is None:
            return OrderedDict()
        horizon = self.clock() - self.limits.job_ttl_seconds
        for job in [j for j in jobs.values() if j.finished_at is not None and j.finished_at < horizon]:
            del jobs[job.id]
        if not jobs:
            del self.projects[key]
        return jobs

    # --- child-process mode: a project's jobs one at a time, each in its own process ----------
    def _advance(self, key: str) -> None:
        """Start the project's next waiting job unless one of its jobs is running."""
        with self.lock:
            if key in self.running or self.closed:
                return
            queue = self.waiting.get(key)
            picked = None
            while queue and picked is None:
                ctx, job = queue.popleft()
                if not job.cancelled:
                    picked = (ctx, job)
            if not queue:
                self.waiting.pop(key, None)
            if picked is None:
                return
            ctx, job = picked
            self.running[key] = job
        try:  # the fork happens on a pool worker, in the project's turn
            self.pool.submit(key, lambda: self._spawn(ctx, job))
        except PoolClosed:
            job.end("CANCELLED", "cancelled: the server is shutting down")
            with self.lock:
                self.running.pop(key, None)

    def _spawn(self, ctx: Context, job: Job) -> None:
        from .child_runs import ChildRun

        if job.cancelled:
            self._child_done(ctx, job, ("cancelled", None))
            return
        steps, job.steps = job.steps, None
        job.status, job.updated_at = "RUNNING", _now()

        def progress(fraction: float) -> None:
            job.progress = fraction

        child = job.child = ChildRun(steps, progress, lambda outcome: self._child_done(ctx, job, outcome))
        del steps
        child.start()
        if job.cancelled:  # cancelled while forking: the kill may have found no child yet
            child.kill()

    def _child_done(self, ctx: Context, job: Job, outcome: tuple) -> None:
        kind, payload = outcome
        try:
            if job.cancelled:
                job.end("CANCELLED", job.error or "cancelled")
            elif kind == "result":
                job.result_json = orjson.dumps(_visible(job, orjson.loads(payload)))
                job.progress = 1.0
                job.end("ACTIVE")
            else:
                job.end("ERROR", payload)
        except Exception as exc:  # noqa: BLE001 - a bug: on the job, never a dead monitor
            job.end("ERROR", f"internal error: {type(exc).__name__}")
        job.child = None
        key = owner(ctx)
        with self.lock:
            if self.running.get(key) is job:
                del self.running[key]
        self._advance(key)

    # --- thread mode: slices on the pool -----------------------------------------------------
    def _queue(self, ctx: Context, job: Job, front: bool) -> None:
        try:
            self.pool.submit(owner(ctx), lambda: self._slice(ctx, job), front=front)
        except PoolClosed:
            job.end("CANCELLED", "cancelled: the server is shutting down")

    def _slice(self, ctx: Context, job: Job) -> None:
        """Run ``job`` for about ``slice_seconds``, then queue its next slice (or finish it)."""
        from ..analysis import QueryError

        if job.cancelled or job.steps is None:
            if job.steps is not None:
                job.end("CANCELLED", job.error or "cancelled")
            return
        job.status = "RUNNING"
        deadline = time.monotonic() + self.limits.slice_seconds
        try:
            while not job.cancelled:
                job.progress = next(job.steps)
                if time.monotonic() >= deadline:
                    break
        except StopIteration as done:
            job.result_json = orjson.dumps(_visible(job, done.value))
            job.progress = 1.0
            job.end("ACTIVE")
            return
        except QueryError as exc:
            job.end("ERROR", exc.message)
            return
        except Exception as exc:  # a bug: reported on the job, never a dead worker
            job.end("ERROR", f"internal error: {type(exc).__name__}")
            return
        job.updated_at = _now()
        if job.cancelled:
            job.end("CANCELLED", job.error or "cancelled")
        else:
            self._queue(ctx, job, front=True)

    def get(self, ctx: Context, job_id: str) -> Job:
        with self.lock:
            job = self._prune(owner(ctx)).get(job_id)
        if job is None or job.project_id != ctx.project_id:
            raise errors.HTTPNotFound(f"Simulation {job_id[:100]} could not be found.")
        return job

    def list(self, ctx: Context) -> list[Job]:
        with self.lock:
            return [j for j in reversed(self._prune(owner(ctx)).values()) if j.project_id == ctx.project_id]

    def delete(self, ctx: Context, job_id: str) -> None:
        job = self.get(ctx, job_id)
        job.cancelled = True  # a running slice stops at its next step and drops the run
        child = job.child
        if child is not None:
            child.kill()
        with self.lock:
            queue = self.waiting.get(owner(ctx))
            if queue is not None:
                for item in [i for i in queue if i[1] is job]:
                    queue.remove(item)
                    job.end("CANCELLED", "cancelled")
            jobs = self.projects.get(owner(ctx))
            if jobs is not None:
                jobs.pop(job.id, None)
                if not jobs:
                    del self.projects[owner(ctx)]

    def shutdown(self, reason: str = "cancelled: the server is shutting down") -> int:
        """Refuse new jobs and cancel every unfinished one (recorded as ``CANCELLED``); how many."""
        with self.lock:
            self.closed = True
            unfinished = [j for jobs in self.projects.values() for j in jobs.values() if not j.finished]
        for job in unfinished:
            # Only flags and the status here: the run itself is closed by the worker that owns
            # it (a generator cannot be closed while another thread is stepping it).
            job.error = reason
            job.cancelled = True
            if job.status == "BUILD":  # may never get a slice once the pool stops
                job.status, job.updated_at, job.finished_at = "CANCELLED", _now(), time.monotonic()
            child = job.child
            if child is not None:
                child.kill()
        return len(unfinished)


def add_simulation_job_routes(router: APIRouter, session, caller_dependency,
                              jobs: SimulationJobs | None = None) -> SimulationJobs:
    """Add the four job routes to ``router`` (mounted under ``/simulation``); ``session`` is the
    app's ``AnalysisSession``, ``caller_dependency`` the FastAPI dependency giving the ``Context``.
    Returns the job registry (tests and the app may inspect it)."""
    jobs = jobs or SimulationJobs(session)

    @router.post("/v1/simulations", status_code=202, response_model=SimulationJobBody,
                 summary="Start a QoS packet simulation, or with 'changes' a QoS what-if (202 + job)",
                 description="With `changes` (Neutron API calls applied to a fork as the caller would, "
                             "the live state untouched) the job runs the same traffic before and after "
                             "them; its result pairs every flow's throughput, loss and p99 in both states.")
    def start(request: Request, body: Annotated[SimulationRequest, Body(examples=[EXAMPLE, WHATIF_EXAMPLE])],
              ctx: Context = Depends(caller_dependency)):
        job = jobs.start(ctx, body)
        location = str(request.url).rstrip("/") + "/" + job["id"]
        return json_response(202, {"simulation": job}, {"Location": location})

    @router.get("/v1/simulations", summary="The caller's project's simulation jobs", response_model=SimulationJobList)
    def listing(ctx: Context = Depends(caller_dependency)):
        return json_response(200, {"simulations": [j.view() for j in jobs.list(ctx)]})

    @router.get("/v1/simulations/{job_id}", summary="Status, progress, and the result when done",
                response_model=SimulationJobBody)
    def show(job_id: JobId, ctx: Context = Depends(caller_dependency)):
        return Response(jobs.get(ctx, job_id).document(), media_type="application/json")

    @router.delete("/v1/simulations/{job_id}", status_code=204, summary="Forget (and stop) a job")
    def forget(job_id: JobId, ctx: Context = Depends(caller_dependency)):
        jobs.delete(ctx, job_id)
        return json_response(204, None)

    return jobs


# --- what a caller may see of a result ------------------------------------------------------------
def _visible(job: Job, result: dict) -> dict:
    """The engine's raw result as the job's caller may see it (the analysis library redacts:
    other projects' ports, routers, rules and QoS policies become ``hidden``)."""
    return job.prepared.finish(result).json_body()


def owner(ctx: Context) -> str:
    """The namespace of a caller's jobs (and its turn in the pool): its project, or for an admin
    token without a project scope the user alone (never one namespace for every such caller)."""
    return f"project:{ctx.project_id}" if ctx.project_id is not None else f"user:{ctx.user_id}"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
