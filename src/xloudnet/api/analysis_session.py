"""``AnalysisSession``: the analysis questions bound to a live control plane.

It keeps the compiled flow tables of the plane's latest revision (recompiling incrementally from
the previous tables when the plane changed), checks that the caller may see every endpoint it
names, lists the endpoints a caller may see, and hides other projects' ids in traces.
"""

from __future__ import annotations

import threading
from typing import Any

from ..control import errors
from ..control.changes import apply_changes
from ..control.context import Context
from ..control.neutron import NeutronAPI
from ..control.plane import ControlPlane
from ..analysis.visibility import HIDDEN, Visibility

# The analysis stack (numpy and the compiled tables) loads on the first question, not at
# start-up: `xloudnet serve` must be answering in well under two seconds.

WHATIF_KEYS = frozenset({"changes", "protocol", "destination_port", "source_port", "icmp_type", "icmp_code",
                         "ethertype", "sources", "destinations"})


class AnalysisSession:
    """Answers questions about ``plane`` for callers with a ``Context``."""

    def __init__(self, plane: ControlPlane, max_evaluations: int | None = None, api: NeutronAPI | None = None):
        from ..analysis.whatif import MAX_EVALUATIONS

        self.plane = plane
        # The live interpreter: what-if forks borrow its URL table instead of building one.
        self.api = api or NeutronAPI(plane)
        self.max_evaluations = max_evaluations or MAX_EVALUATIONS
        self._revision: int | None = None
        self._tables = None
        self._index = None
        self._cut_cache = None
        self._visible = None
        self._lock = threading.RLock()

    def tables(self, plane: ControlPlane | None = None):
        """Compiled tables for the live plane (cached by revision) or for a fork."""
        from ..dataplane import compile_tables

        if plane is not None and plane is not self.plane:
            with self._lock:  # compiles append to arenas shared along the lineage: one at a time
                live = self.tables()
                # A fork of exactly the compiled revision names every record it wrote: the
                # compiler then compares only those instead of diffing whole collections.
                exact = plane.store.base_revision == self._revision
                changed = plane.store.touched if exact else None
                return compile_tables(plane.snapshot(), previous=live, changed=changed)
        with self._lock:
            if self._revision != self.plane.revision:
                snapshot = self.plane.snapshot()  # its revision, not the plane's a moment later
                self._tables = compile_tables(snapshot, previous=self._tables)
                self._revision = snapshot.revision
            return self._tables

    # --- questions ------------------------------------------------------------------------------
    def reachability(self, ctx: Context, query: Any) -> dict:
        from ..analysis.reachability import reachability as reachability_question

        query = _object(query)
        self._check_ends(ctx, query)
        answer = reachability_question(self.tables(), query)
        return Visibility(self.plane, ctx).redact(answer)

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
        """Apply ``body["changes"]`` to a fork as ``ctx`` would, and diff the two states."""
        from ..analysis.whatif import question_region

        body = _object(body)
        unknown = set(body) - WHATIF_KEYS
        if unknown:
            raise errors.HTTPBadRequest(f"Unrecognized attribute(s) '{', '.join(sorted(unknown))}'")
        question = {k: v for k, v in body.items() if k != "changes"}
        question_region(question)  # refuse a malformed question before touching anything
        fork = apply_changes(self.plane, ctx, body.get("changes"), self.api)
        return self.compare_fork(ctx, fork, question)

    def compare_fork(self, ctx: Context, fork, question: dict, after_tables=None) -> dict:
        """The what-if answer for an already applied ``Fork`` (the benchmark times the parts)."""
        import numpy as np

        from ..analysis.whatif import compare
        from ..analysis.whatif_scope import Scope, merge

        index = self.end_index()
        before, after = PlaneView(self.plane), PlaneView(fork.plane)
        boxes = merge(Scope(before, after, index).boxes(fork.touched))
        if not boxes and question.get("sources") is None and question.get("destinations") is None:
            return {"newly_allowed": [], "newly_blocked": [], "changes_applied": len(fork.results),
                    "evaluated": {"boxes": 0, "pairs": 0, "services": 0, "flows": 0}}
        before_tables = self.tables()
        after_tables = after_tables if after_tables is not None else self.tables(fork.plane)
        ends, sources, destinations = self._compared_ends(ctx, fork, question)
        touched_rules = [r for table, rid in fork.touched if table == "security_group_rules"
                         for r in (before.record(table, rid), after.record(table, rid)) if r]

        def cuts_for(egress, ingress):
            return self._cuts(before, after, touched_rules, egress, ingress)

        def v4_capable(ids):
            return np.array([self._has4(index, ends[i]) for i in ids], dtype=bool)

        answer = compare(before_tables, after_tables, boxes, question, ends, sources, destinations,
                         v4_capable, cuts_for, self.max_evaluations)
        answer["changes_applied"] = len(fork.results)
        return answer

    # --- what-if support ------------------------------------------------------------------------
    def end_index(self):
        """Endpoint addresses of the live plane, as arrays (cached by revision)."""
        from ..analysis.whatif_scope import EndIndex

        with self._lock:
            if self._index is None or self._index[0] != self.plane.revision:
                self._index = (self.plane.revision, EndIndex(self.plane.snapshot()))
            return self._index[1]

    def _compared_ends(self, ctx: Context, fork, question: dict) -> tuple[dict, list, list]:
        """Ends both states have and the caller may see (or those the question names)."""
        gone = set()
        for table, pid in fork.touched:
            if table == "ports":
                record = fork.plane.store.get("ports", pid)
                if record is None or record["device_owner"].startswith("network:") \
                        or not fork.plane.ports.visible(ctx, record):
                    gone.add(pid)
        everyone = self._visible_ids(ctx)
        visible = [pid for pid in everyone if pid not in gone] if gone else everyone
        ends = {pid: {"port_id": pid} for pid in visible}
        chosen = []
        for key in ("sources", "destinations"):
            named = question.get(key)
            if named is None:
                chosen.append(visible)
                continue
            if not isinstance(named, list):
                raise errors.HTTPBadRequest(f"'{key}' must be a list of endpoints")
            ids = []
            for end in named:
                self._check_end(ctx, end)
                if isinstance(end.get("port_id"), str):
                    if end["port_id"] in gone:
                        continue
                    ident = end["port_id"]
                elif isinstance(end.get("ip_address"), str):
                    ident = end["ip_address"]
                else:
                    raise errors.HTTPBadRequest("each endpoint must name a port_id or an ip_address")
                ends[ident] = dict(end)
                ids.append(ident)
            chosen.append(sorted(set(ids)))
        return ends, chosen[0], chosen[1]

    def _visible_ids(self, ctx: Context) -> list[str]:
        """``visible_endpoints`` as ids, cached per live revision and caller scope."""
        key = (self.plane.revision, ctx.project_id, ctx.is_admin)
        with self._lock:
            if self._visible is None or self._visible[0] != key:
                self._visible = (key, [e["port_id"] for e in self.visible_endpoints(ctx)])
            return self._visible[1]

    @staticmethod
    def _has4(index, end: dict) -> bool:
        if "ip_address" in end:
            return ":" not in str(end["ip_address"])
        position = index.position.get(end.get("port_id"))
        return bool(index.has4[position]) if position is not None else False

    def _cuts(self, before, after, touched_rules, egress, ingress):
        """Sorted service-key boundaries of the rules of these groups (``None``: every group) in
        both states, one direction each."""
        import numpy as np

        from ..analysis.whatif_scope import ALL, boundaries

        parts = []
        for direction, groups in (("egress", egress), ("ingress", ingress)):
            if groups is ALL:
                parts.append(self._all_cuts()[direction])
                rules = [r for r in touched_rules if r.get("direction") == direction]
            else:
                rules = [r for gid in groups for view in (before, after) for r in view.rules_of(gid)
                         if r.get("direction") == direction]
            parts.append(np.array(sorted(boundaries(rules)), dtype=np.int64))
        return np.unique(np.concatenate(parts))

    def _all_cuts(self) -> dict:
        import numpy as np

        from ..analysis.whatif_scope import boundaries

        with self._lock:
            if self._cut_cache is None or self._cut_cache[0] != self.plane.revision:
                rules = self.plane.store.table("security_group_rules").values()
                cuts = {d: np.array(sorted(boundaries(r for r in rules if r.get("direction") == d)), dtype=np.int64)
                        for d in ("egress", "ingress")}
                self._cut_cache = (self.plane.revision, cuts)
            return self._cut_cache[1]

    def security_group_test(self, ctx: Context, query: Any) -> dict:
        from ..analysis.sgtest import test_security_groups

        query = _object(query)
        port_id = query.get("port_id")
        if not isinstance(port_id, str):
            raise errors.HTTPBadRequest("'port_id' is required")
        self.plane.ports.get(ctx, port_id)
        return Visibility(self.plane, ctx).redact(test_security_groups(self.tables(), query))

    def lint(self, ctx: Context, project_id: str | None) -> dict:
        from ..analysis.lint import lint_security_groups

        if not ctx.is_admin:
            if project_id not in (None, ctx.project_id):
                raise errors.PolicyNotAuthorized(action="rule:lint_security_groups")
            project_id = ctx.project_id
        return Visibility(self.plane, ctx).redact(lint_security_groups(self.plane.snapshot(), project_id))

    # --- visibility -----------------------------------------------------------------------------
    def visible_endpoints(self, ctx: Context, plane: ControlPlane | None = None) -> list[dict]:
        """Every endpoint port the caller may see, in id order."""
        return [{"port_id": pid} for pid in Visibility(plane or self.plane, ctx).endpoint_ids()]

    def _check_ends(self, ctx: Context, query: dict) -> None:
        for key in ("source", "destination"):
            if key in query:
                self._check_end(ctx, query[key])

    def _check_end(self, ctx: Context, end: Any) -> None:
        if not isinstance(end, dict):
            raise errors.HTTPBadRequest("an endpoint must be an object")
        Visibility(self.plane, ctx).check_end(end)

    def redact_simulation(self, ctx: Context, result: dict) -> dict:
        return Visibility(self.plane, ctx).redact_simulation(result)


class PlaneView:
    """What-if scoping's look-ups on one plane, through the store's indexes (no scans)."""

    def __init__(self, plane: ControlPlane):
        self.store = plane.store

    def record(self, table: str, rid: str) -> dict | None:
        return self.store.get(table, rid)

    def members(self, group_id: str) -> list[dict]:
        return list(self.store.find("ports", "security_groups", group_id))

    def rules_of(self, group_id: str) -> list[dict]:
        return list(self.store.find("security_group_rules", "security_group_id", group_id))

    def rules_referencing(self, group_id: str) -> list[dict]:
        return list(self.store.find("security_group_rules", "remote_group_id", group_id))


def _object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise errors.HTTPBadRequest("Body contains invalid data")
    return body
