"""Durable control-plane state: restore a ``ControlPlane`` from a state directory and make every
later change durable at the store's commit point.

The store's outermost transaction hands its change set (every record written or deleted, and
the store revision after it) to ``PlaneJournal.commit`` while it still holds the store lock;
the change set becomes one SQLite transaction before the service returns, so the API only
acknowledges what is on disk, and a port lands together with its addresses, a group with its
rules, a network delete with its subnets and ports. The journal works per store table, so a
resource added later (a new service with its own table) persists with no code here.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from .plane import ControlPlane
from .statelog import StateError, StateLog
from .store import Store

SPACE = "control"


class PlaneJournal:
    """The store's ``Journal``: encodes change sets and writes them to the state log."""

    def __init__(self, log: StateLog):
        self.log = log

    def commit(self, changes: dict[tuple[str, str], dict | None], revision: int) -> None:
        encoded = {key: None if record is None else orjson.dumps(record) for key, record in changes.items()}
        self.log.write(SPACE, encoded, {"revision": revision})


def restore(plane: ControlPlane, log: StateLog) -> int:
    """Load every stored record into ``plane``'s store (which must be empty) and its revision.

    Returns how many records were restored.
    """
    return restore_store(plane.store, log)


def restore_store(store: Store, log: StateLog) -> int:
    """``restore`` for a bare store. A collection the store has no table for is refused rather
    than dropped: serving without it would silently lose it."""
    known = set(store.tables())
    unknown = sorted(set(log.collections(SPACE)) - known)
    if unknown:
        raise StateError(f"{log.directory}: holds collections this xloudnet does not know: {unknown}")
    count = 0
    batch: list[dict] = []
    table = None
    for collection, _rid, body in log.records(SPACE):
        if collection != table:
            if batch:
                store.load(table, batch)
            table, batch = collection, []
        batch.append(orjson.loads(body))
        count += 1
    if batch:
        store.load(table, batch)
    store.revision = int(log.meta(SPACE, "revision", 0))
    return count


def attach(plane: ControlPlane, log: StateLog) -> int:
    """Restore ``plane`` from ``log``, then make every later commit durable in it."""
    count = restore(plane, log)
    plane.store.attach_journal(PlaneJournal(log))
    return count


def load_plane(path: Path | str, **plane_args) -> ControlPlane:
    """A ``ControlPlane`` holding a state directory's resources, read-only on disk.

    Safe while a server is writing the directory (SQLite readers see the last commit). Changes
    to the returned plane stay in memory. ``plane_args`` go to ``ControlPlane`` (clock, quotas).
    """
    plane = ControlPlane(**plane_args)
    with StateLog(path, readonly=True) as log:
        restore(plane, log)
    return plane


__all__ = ["PlaneJournal", "attach", "load_plane", "restore", "restore_store"]
