"""``LivePlane``: a control plane with the caches every question about it shares.

It keeps the compiled flow tables of the plane's latest revision (recompiling incrementally from
the previous tables when the plane changed), the endpoint-address index and the rule boundaries
what-if scoping needs, and compiles forks against the live tables. One ``LivePlane`` serves every
caller (an HTTP server has one); a ``Session`` adds who is asking.
"""

from __future__ import annotations

import threading

import numpy as np

from ..control.changes import Fork
from ..control.context import Context
from ..control.neutron import NeutronAPI
from ..control.plane import ControlPlane
from ..dataplane import FlowTables, QueryError, compile_tables
from .visibility import Visibility
from .whatif import MAX_EVALUATIONS, compare, forwarding_cuts
from .whatif_scope import ALL, EndIndex, Scope, boundaries, merge


class LivePlane:
    """``plane`` plus compiled-tables, endpoint-index and rule-boundary caches (by revision)."""

    def __init__(self, plane: ControlPlane, api: NeutronAPI | None = None, max_evaluations: int | None = None,
                 matrix_max_pairs: int | None = None):
        self.plane = plane
        self.matrix_max_pairs = matrix_max_pairs  # None: unbounded (library use); servers set a cap
        # The live interpreter: what-if forks borrow its URL table instead of building one.
        self.api = api or NeutronAPI(plane)
        self.max_evaluations = max_evaluations or MAX_EVALUATIONS
        self._revision: int | None = None
        self._tables: FlowTables | None = None
        self._index = None
        self._cut_cache = None
        self._visible = None
        self._lock = threading.RLock()

    def tables(self, plane: ControlPlane | None = None) -> FlowTables:
        """Compiled tables for the live plane (cached by revision) or for a fork."""
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

    def end_index(self) -> EndIndex:
        """Endpoint addresses of the live plane, as arrays (cached by revision)."""
        with self._lock:
            if self._index is None or self._index[0] != self.plane.revision:
                self._index = (self.plane.revision, EndIndex(self.plane.snapshot()))
            return self._index[1]

    def visible_ids(self, ctx: Context) -> list[str]:
        """The endpoint ports ``ctx`` may see, cached per live revision and caller scope."""
        key = (self.plane.revision, ctx.project_id, ctx.is_admin)
        with self._lock:
            if self._visible is None or self._visible[0] != key:
                self._visible = (key, Visibility(self.plane, ctx).endpoint_ids())
            return self._visible[1]

    def all_cuts(self) -> dict:
        with self._lock:
            if self._cut_cache is None or self._cut_cache[0] != self.plane.revision:
                rules = self.plane.store.table("security_group_rules").values()
                cuts = {d: np.array(sorted(boundaries(r for r in rules if r.get("direction") == d)), dtype=np.int64)
                        for d in ("egress", "ingress")}
                self._cut_cache = (self.plane.revision, cuts)
            return self._cut_cache[1]

    # --- what-if ------------------------------------------------------------------------------
    def compare_fork(self, ctx: Context, fork: Fork, question: dict, after_tables=None) -> dict:
        """The what-if answer for an already applied ``Fork`` as ``ctx`` may see it (the
        benchmark times the parts)."""
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
            cuts = self._cuts(before, after, touched_rules, egress, ingress)
            if ingress is ALL:  # ends named by address: port forwarding may decide by port
                cuts = np.union1d(cuts, forwarding_cuts(before_tables, after_tables, cuts))
            return cuts

        def v4_capable(ids):
            return np.array([_has4(index, ends[i]) for i in ids], dtype=bool)

        answer = compare(before_tables, after_tables, boxes, question, ends, sources, destinations,
                         v4_capable, cuts_for, self.max_evaluations)
        answer["changes_applied"] = len(fork.results)
        return answer

    def _compared_ends(self, ctx: Context, fork: Fork, question: dict) -> tuple[dict, list, list]:
        """Ends both states have and the caller may see (or those the question names)."""
        gone = set()
        for table, pid in fork.touched:
            if table == "ports":
                record = fork.plane.store.get("ports", pid)
                if record is None or record["device_owner"].startswith("network:") \
                        or not fork.plane.ports.visible(ctx, record):
                    gone.add(pid)
        everyone = self.visible_ids(ctx)
        visible = [pid for pid in everyone if pid not in gone] if gone else everyone
        ends = {pid: {"port_id": pid} for pid in visible}
        chosen = []
        view = Visibility(self.plane, ctx)
        for key in ("sources", "destinations"):
            named = question.get(key)
            if named is None:
                chosen.append(visible)
                continue
            ids = []
            for end in named:
                view.check_end(end)
                if end.get("port_id") is not None:
                    if end["port_id"] in gone:
                        continue
                    ident = end["port_id"]
                elif end.get("ip_address") is not None:
                    ident = end["ip_address"]
                else:
                    raise QueryError("each endpoint must name a port_id or an ip_address")
                ends[ident] = dict(end)
                ids.append(ident)
            chosen.append(sorted(set(ids)))
        return ends, chosen[0], chosen[1]

    def _cuts(self, before, after, touched_rules, egress, ingress):
        """Sorted service-key boundaries of the rules of these groups (``ALL``: every group) in
        both states, one direction each."""
        parts = []
        for direction, groups in (("egress", egress), ("ingress", ingress)):
            if groups is ALL:
                parts.append(self.all_cuts()[direction])
                rules = [r for r in touched_rules if r.get("direction") == direction]
            else:
                rules = [r for gid in groups for view in (before, after) for r in view.rules_of(gid)
                         if r.get("direction") == direction]
            parts.append(np.array(sorted(boundaries(rules)), dtype=np.int64))
        return np.unique(np.concatenate(parts))


def _has4(index, end: dict) -> bool:
    if "ip_address" in end:
        return ":" not in str(end["ip_address"])
    position = index.position.get(end.get("port_id"))
    return bool(index.has4[position]) if position is not None else False


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

    def rules_naming_address_group(self, address_group_id: str) -> list[dict]:
        return list(self.store.find("security_group_rules", "remote_address_group_id", address_group_id))


__all__ = ["LivePlane", "PlaneView"]
