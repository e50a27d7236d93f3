"""``AnalysisSession``: the analysis questions bound to a live control plane.

It keeps the compiled flow tables of the plane's latest revision (recompiling incrementally from
the previous tables when the plane changed), checks that the caller may see every endpoint it
names, lists the endpoints a caller may see, and hides other projects' ids in traces.
"""

from __future__ import annotations

from typing import Any

from ..control import errors
from ..control.changes import apply_changes
from ..control.context import Context
from ..control.plane import ControlPlane

# The analysis stack (numpy and the compiled tables) loads on the first question, not at
# start-up: `xloudnet serve` must be answering in well under two seconds.

HIDDEN = "hidden"


class AnalysisSession:
    """Answers questions about ``plane`` for callers with a ``Context``."""

    def __init__(self, plane: ControlPlane):
        self.plane = plane
        self._revision: int | None = None
        self._tables = None

    def tables(self, plane: ControlPlane | None = None):
        """Compiled tables for the live plane (cached by revision) or for a fork."""
        from ..dataplane import compile_tables

        if plane is not None and plane is not self.plane:
            return compile_tables(plane.snapshot(), previous=self.tables())
        if self._revision != self.plane.revision:
            self._tables = compile_tables(self.plane.snapshot(), previous=self._tables)
            self._revision = self.plane.revision
        return self._tables

    # --- questions ------------------------------------------------------------------------------
    def reachability(self, ctx: Context, query: Any) -> dict:
        from ..analysis.reachability import reachability as reachability_question

        query = _object(query)
        self._check_ends(ctx, query)
        answer = reachability_question(self.tables(), query)
        return self._redact(ctx, answer)

    def matrix(self, ctx: Context, query: Any) -> dict:
        from ..analysis.matrix import matrix as matrix_question

        query = dict(_object(query))
        for key in ("sources", "destinations"):
            if key in query:
                ends = query[key]
                if not isinstance(ends, list):
                    raise errors.HTTPBadRequest(f"'{key}' must be a list of endpoints")
                for end in ends:
                    self._check_end(ctx, end)
            else:
                query[key] = self.visible_endpoints(ctx)
        return matrix_question(self.tables(), query)

    def whatif(self, ctx: Context, body: Any) -> dict:
        from ..analysis.matrix import matrix as matrix_question
        from ..analysis.whatif import diff_matrices

        body = _object(body)
        question = {k: v for k, v in body.items() if k != "changes"}
        question.setdefault("protocol", "tcp" if "destination_port" in question else "icmp")
        fork = apply_changes(self.plane, ctx, body.get("changes"))
        ends = self.visible_endpoints(ctx)
        question_before = dict(question, sources=ends, destinations=ends)
        before = matrix_question(self.tables(), question_before)
        after_ends = self.visible_endpoints(ctx, fork.plane)
        question_after = dict(question, sources=after_ends, destinations=after_ends)
        after = matrix_question(self.tables(fork.plane), question_after)
        protocol = question["protocol"]

        def describe(source: str, destination: str) -> dict:
            item = {"source": {"port_id": source}, "destination": {"port_id": destination}, "protocol": protocol}
            if "destination_port" in question:
                port = question["destination_port"]
                item["port_ranges"] = [[port, port]]
            return item

        diff = diff_matrices(before, after, describe)
        diff["changes_applied"] = len(fork.results)
        return diff

    def security_group_test(self, ctx: Context, query: Any) -> dict:
        from ..analysis.sgtest import test_security_groups

        query = _object(query)
        port_id = query.get("port_id")
        if not isinstance(port_id, str):
            raise errors.HTTPBadRequest("'port_id' is required")
        self.plane.ports.get(ctx, port_id)
        return test_security_groups(self.tables(), query)

    def lint(self, ctx: Context, project_id: str | None) -> dict:
        from ..analysis.lint import lint_security_groups

        if not ctx.is_admin:
            if project_id not in (None, ctx.project_id):
                raise errors.PolicyNotAuthorized(action="rule:lint_security_groups")
            project_id = ctx.project_id
        return lint_security_groups(self.plane.snapshot(), project_id)

    # --- visibility -----------------------------------------------------------------------------
    def visible_endpoints(self, ctx: Context, plane: ControlPlane | None = None) -> list[dict]:
        """Every endpoint port the caller may see, in id order."""
        plane = plane or self.plane
        ports = plane.ports
        table = plane.store.table("ports")
        ids = sorted(
            pid for pid, p in table.items()
            if not p["device_owner"].startswith("network:") and ports.visible(ctx, p)
        )
        return [{"port_id": pid} for pid in ids]

    def _check_ends(self, ctx: Context, query: dict) -> None:
        for key in ("source", "destination"):
            if key in query:
                self._check_end(ctx, query[key])

    def _check_end(self, ctx: Context, end: Any) -> None:
        if not isinstance(end, dict):
            raise errors.HTTPBadRequest("an endpoint must be an object")
        if isinstance(end.get("port_id"), str):
            self.plane.ports.get(ctx, end["port_id"])
        if isinstance(end.get("network_id"), str):
            self.plane.networks.get(ctx, end["network_id"])

    def _redact(self, ctx: Context, answer: dict) -> dict:
        """Replace ids the caller may not see in traces (other projects' ports, routers, rules)."""
        if ctx.is_admin:
            return answer
        answer = dict(answer)
        answer["hops"] = [self._redact_hop(ctx, h) for h in answer.get("hops", [])]
        if answer.get("return"):
            back = dict(answer["return"])
            back["hops"] = [self._redact_hop(ctx, h) for h in back.get("hops", [])]
            answer["return"] = back
        return answer

    def _redact_hop(self, ctx: Context, hop: dict) -> dict:
        hop = dict(hop)
        kind, _, rid = str(hop.get("node", "")).partition(":")
        service = {"port": self.plane.ports, "router": self.plane.routers, "network": self.plane.networks}.get(kind)
        if service is not None and rid and not _can_see(service, ctx, rid):
            hop["node"] = f"{kind}:{HIDDEN}"
        if hop.get("rule_id") and not _can_see(self.plane.security_group_rules, ctx, hop["rule_id"]):
            hop["rule_id"] = HIDDEN
        return hop


def _can_see(service, ctx: Context, rid: str) -> bool:
    record = service.store.get(service.table, rid)
    return record is not None and service.visible(ctx, record)


def _object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise errors.HTTPBadRequest("Body contains invalid data")
    return body
