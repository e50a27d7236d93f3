"""``Session``: the analysis questions about one control plane, asked as one caller.

Every method takes its question as a model, a dict, or keyword fields, and returns a typed
answer (``.model_dump()`` for JSON, ``.table()`` for a terminal). A session built without a
context asks as admin (sees everything); ``as_caller(ctx)`` gives the same plane and caches seen
by another caller: a project sees what it may see through the networking API, and answers name
nothing else (see ``visibility``).

The engine (numpy, compiled tables, SimPy) loads on the first question, not on import: a server
that builds a ``Session`` at start-up answers its first request in well under two seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from ..control import errors
from ..control.context import Context
from ..control.plane import ControlPlane
from .models import (LintAnswer, LintQuestion, MatrixAnswer, MatrixQuestion, QosWhatIfAnswer, QosWhatIfQuestion,
                     ReachAnswer, ReachQuestion, SGTestAnswer, SGTestQuestion, SimulationRequest, SimulationResult,
                     WhatIfAnswer, WhatIfQuestion)
from .visibility import Visibility

if TYPE_CHECKING:
    import networkx

    from ..control.neutron import NeutronAPI
    from .live import LivePlane

Q = TypeVar("Q", bound=BaseModel)


def _question(model: type[Q], question: Any, fields: dict) -> Q:
    """``question`` (a model or a dict) or the keyword ``fields`` as ``model``."""
    if isinstance(question, model):
        if fields:
            return model.model_validate({**question.model_dump(exclude_none=True), **fields})
        return question
    if question is not None and fields:
        raise TypeError("give the question as one object or as keyword fields, not both")
    return model.model_validate(question if question is not None else fields)


@contextmanager
def engine_errors() -> Iterator[None]:
    """The engine's ``QueryError`` as the control plane's error of the same status (404 →
    ``HTTPNotFound``, else ``HTTPBadRequest``), so callers meet one error tree."""
    from ..dataplane import QueryError

    try:
        yield
    except QueryError as exc:
        kind = errors.HTTPNotFound if exc.http_status == 404 else errors.HTTPBadRequest
        raise kind(exc.message) from None


class Session:
    """Questions about ``plane`` asked as ``context`` (default: admin)."""

    def __init__(self, plane: ControlPlane, context: Context | None = None, *, api: NeutronAPI | None = None,
                 max_evaluations: int | None = None, matrix_max_pairs: int | None = None,
                 live: LivePlane | None = None):
        self.plane = plane
        self.context = context if context is not None else Context.admin()
        self._live = live
        self._live_args = (api, max_evaluations, matrix_max_pairs)

    @property
    def live(self) -> LivePlane:
        """The plane's shared caches (compiled tables, indexes), built on first use."""
        if self._live is None:
            from .live import LivePlane

            self._live = LivePlane(self.plane, *self._live_args)
        return self._live

    def as_caller(self, context: Context) -> Session:
        """The same plane and caches, asked as ``context``."""
        return Session(self.plane, context, live=self.live)

    @property
    def visibility(self) -> Visibility:
        return Visibility(self.plane, self.context)

    # --- questions ------------------------------------------------------------------------------
    def reach(self, question: ReachQuestion | dict | None = None, /, **fields) -> ReachAnswer:
        """Can this flow get through, and why (not)? — verdict, trace, return path, allowed set."""
        from .reachability import reachability

        q = _question(ReachQuestion, question, fields)
        view = self.visibility
        view.check_end(q.source.query())
        view.check_end(q.destination.query())
        with engine_errors():
            answer = reachability(self.live.tables(), q.query())
        return ReachAnswer.model_validate(view.redact(answer))

    def matrix(self, question: MatrixQuestion | dict | None = None, /, cancelled: Callable | None = None,
               **fields) -> MatrixAnswer:
        """Every (source, destination) pair's verdict for one service (``cancelled()``, when
        given, is checked between batches by engines that support it)."""
        from .matrix import matrix

        q = _question(MatrixQuestion, question, fields)
        query = q.query()
        view = self.visibility
        for key in ("sources", "destinations"):
            if key in query:
                for end in query[key]:
                    view.check_end(end)
            else:
                query[key] = [{"port_id": pid} for pid in self.live.visible_ids(self.context)]
        # Ids are the caller's own or visible ones (checked above): no redaction pass over what
        # can be millions of cells.
        limits = {k: v for k, v in (("max_pairs", self.live.matrix_max_pairs), ("cancelled", cancelled))
                  if v is not None}
        with engine_errors():
            return MatrixAnswer.model_construct(**matrix(self.live.tables(), query, **limits))

    def whatif(self, question: WhatIfQuestion | dict | None = None, /, **fields) -> WhatIfAnswer:
        """Apply the changes to a fork as this caller would, and report the flows whose verdict
        flipped (the live plane is untouched)."""
        from ..control.changes import apply_changes
        from .whatif import question_region

        q = _question(WhatIfQuestion, question, fields)
        body = q.query()
        changes = body.pop("changes")
        with engine_errors():
            question_region(body)  # refuse a malformed question before touching anything
            fork = apply_changes(self.plane, self.context, changes, self.live.api)
            answer = self.live.compare_fork(self.context, fork, body)
        return WhatIfAnswer.model_validate(self.visibility.redact(answer))

    def sgtest(self, question: SGTestQuestion | dict | None = None, /, **fields) -> SGTestAnswer:
        """Which rules of a port's groups match one flow, and the verdict."""
        from .sgtest import test_security_groups

        q = _question(SGTestQuestion, question, fields)
        self.plane.ports.get(self.context, q.port_id)  # the networking API's 404 when invisible
        with engine_errors():
            answer = test_security_groups(self.live.tables(), q.query())
        return SGTestAnswer.model_validate(self.visibility.redact(answer))

    def lint(self, question: LintQuestion | dict | None = None, /, **fields) -> LintAnswer:
        """Shadowed, redundant and over-broad rules, empty remote groups, unused groups — of the
        caller's project (admin: every project, or the one named)."""
        from .lint import lint_security_groups

        q = _question(LintQuestion, question, fields)
        project_id = q.project_id
        if not self.context.is_admin:
            if project_id not in (None, self.context.project_id):
                raise errors.PolicyNotAuthorized(action="rule:lint_security_groups")
            project_id = self.context.project_id
        answer = lint_security_groups(self.plane.snapshot(), project_id)
        return LintAnswer.model_validate(self.visibility.redact(answer))

    def simulate(self, request: SimulationRequest | dict | None = None, /, progress: Callable | None = None,
                 **fields) -> SimulationResult:
        """Run a QoS packet simulation now (``progress(fraction)`` after each step)."""
        return self.prepare_simulation(request, **fields).run(progress)

    def prepare_simulation(self, request: SimulationRequest | dict | None = None, /, **fields) -> PreparedSimulation:
        """Check a simulation request and plan its flows now (bad input and invisible ends
        raise here); ``.run()`` it later, e.g. in a worker."""
        from .capacity import plan_flows

        q = _question(SimulationRequest, request, fields)
        if q.changes is not None:
            raise errors.HTTPBadRequest("a simulation with 'changes' is a QoS what-if (Session.qos_whatif)")
        with engine_errors():
            config, seed, view = self._checked_request(q)
            tables = self.live.tables()
            return PreparedSimulation(view, tables, config, seed, plan_flows(tables, config))

    def qos_whatif(self, question: QosWhatIfQuestion | dict | None = None, /, progress: Callable | None = None,
                   **fields) -> QosWhatIfAnswer:
        """The same simulation before and after ``changes`` (applied to a fork as this caller
        would through the API: a refused change is that API error, nothing applied), paired per
        flow: delivered throughput, loss and p99 in both states."""
        return self.prepare_qos_whatif(question, **fields).run(progress)

    def prepare_qos_whatif(self, question: QosWhatIfQuestion | dict | None = None, /,
                           **fields) -> PreparedQosWhatIf:
        """Check the request, apply the changes to a fork and plan the flows in both states now
        (bad input, a refused change and invisible ends raise here); ``.run()`` it later."""
        from ..control.changes import apply_changes
        from .qos_whatif import plan_both

        if isinstance(question, SimulationRequest) and not isinstance(question, QosWhatIfQuestion):
            question = question.model_dump(exclude_none=True)  # e.g. an HTTP body with changes
        q = _question(QosWhatIfQuestion, question, fields)
        with engine_errors():
            config, seed, view = self._checked_request(q)
            changes = [c.query() for c in q.changes]
            fork = apply_changes(self.plane, self.context, changes, self.live.api)
            before, after = self.live.tables(), self.live.tables(fork.plane)
            before_plans, after_plans = plan_both(before, after, config)
            return PreparedQosWhatIf(view, (before, after), config, seed, (before_plans, after_plans),
                                     len(fork.results))

    def _checked_request(self, q: SimulationRequest):
        """The engine's config and seed of ``q``, its ends checked as visible to the caller."""
        from .capacity import parse_request

        config, seed = parse_request(q.query())
        view = self.visibility
        for flow in config.flows:
            view.check_end(flow.source)
            view.check_end(flow.destination)
        return config, seed, view

    def topology(self) -> networkx.MultiDiGraph:
        """The plane as a graph: networks, subnets, routers, ports, floating IPs and the outside
        (see ``xloudnet.analysis.topology``), cut down to the nodes the caller may see."""
        from .topology import build_topology

        graph = build_topology(self.plane.snapshot(), self.live.tables())
        if self.context.is_admin:
            return graph
        view = self.visibility
        keep = [n for n in graph if view.can_see(str(n).partition(":")[2]) is not False]
        return graph.subgraph(keep).copy()


class PreparedSimulation:
    """A checked and planned simulation, ready to run (once)."""

    def __init__(self, view: Visibility, tables, config, seed: int, plans: list):
        self.view, self.tables, self.config, self.seed, self.plans = view, tables, config, seed, plans

    @property
    def flows(self) -> int:
        return len(self.config.flows)

    @property
    def duration_s(self) -> float:
        return self.config.duration_s

    def run(self, progress: Callable | None = None) -> SimulationResult:
        """Simulate; the result names only what the caller may see. A flow the engine refuses
        raises ``QueryError``."""
        from .capacity import simulate

        return self.finish(simulate(self.tables, self.config, self.seed, self.plans, progress))

    def steps(self):
        """The run as a step generator (fractions, then the raw result: ``finish`` it)."""
        from .capacity import simulation_steps

        return simulation_steps(self.tables, self.config, self.seed, self.plans)

    def finish(self, result: dict) -> SimulationResult:
        """The engine's raw result (e.g. computed elsewhere, in a worker process) as the caller
        may see it."""
        return SimulationResult.model_validate(self.view.redact_simulation(result))


class PreparedQosWhatIf(PreparedSimulation):
    """A checked QoS what-if: both states compiled and both sets of flows planned, ready to run
    (``tables`` and ``plans`` are before/after pairs)."""

    def __init__(self, view: Visibility, tables: tuple, config, seed: int, plans: tuple, changes_applied: int):
        super().__init__(view, tables, config, seed, plans)
        self.changes_applied = changes_applied

    def steps(self):
        """Both runs as one step generator (fractions, then the raw answer: ``finish`` it)."""
        from .qos_whatif import qos_whatif_steps

        return qos_whatif_steps(*self.tables, self.config, self.seed, *self.plans)

    def run(self, progress: Callable | None = None) -> QosWhatIfAnswer:
        from ..sim.stepping import drive

        return self.finish(drive(self.steps(), progress))

    def finish(self, result: dict) -> QosWhatIfAnswer:
        """The raw answer as the caller may see it (both results redacted as simulations are)."""
        view = self.view
        body = {"flows": view.redact(result["flows"]), "changes_applied": self.changes_applied,
                "before": view.redact_simulation(result["before"]), "after": view.redact_simulation(result["after"])}
        return QosWhatIfAnswer.model_validate(body)


__all__ = ["Session", "PreparedSimulation", "PreparedQosWhatIf"]
