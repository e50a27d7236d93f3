"""The in-memory store: persistent maps, so snapshots and forks are O(1) and a failed
operation rolls back by restoring the maps it started from.

Records are plain dicts and are never mutated once stored: an update stores a new dict. The
store also keeps secondary indexes (attribute value → ids) for the attributes services look up
by (``network_id``, ``device_id``, …), and a sorted id list per table for paging.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Protocol

import immutables
from sortedcontainers import SortedList

_EMPTY = immutables.Map()


class Journal(Protocol):
    """Where committed change sets become durable (``control.statelog.StateLog``)."""

    def commit(self, changes: dict[tuple[str, str], dict | None], revision: int) -> None:
        """Make ``changes`` ((table, id) -> record, None for deleted) durable, or raise."""


class Store:
    """Tables of records keyed by id, with value indexes; cheap to fork and roll back."""

    def __init__(self, indexes: dict[str, tuple[str, ...]]):
        self._index_fields = {t: tuple(f) for t, f in indexes.items()}
        self._tables: dict[str, immutables.Map] = {t: _EMPTY for t in indexes}
        self._indexes: dict[tuple[str, str], immutables.Map] = {
            (t, f): _EMPTY for t, fs in self._index_fields.items() for f in fs
        }
        self.revision = 0
        self._sorted: dict[str, tuple[immutables.Map, SortedList]] = {}
        self._depth = 0
        self._lock = threading.RLock()
        # (table, id) pairs written since this store was forked; None on the live store.
        self.touched: set[tuple[str, str]] | None = None
        # The revision of the store this one was forked from (None on the live store).
        self.base_revision: int | None = None
        # Where committed change sets go to become durable (``attach_journal``); None: memory only.
        self._journal: Journal | None = None
        # (table, id) -> record, or None for a delete: what the open transaction wrote.
        self._changes: dict[tuple[str, str], dict | None] | None = None
        self._writer: int | None = None  # the thread inside the outermost transaction

    # --- reads -------------------------------------------------------------------------------
    def table(self, name: str) -> immutables.Map:
        return self._tables[name]

    def get(self, table: str, rid: str) -> dict | None:
        return self._tables[table].get(rid)

    def ids_where(self, table: str, field: str, value) -> Iterable[str]:
        """Ids whose ``field`` equals ``value`` (for list-valued fields: contains it)."""
        return self._indexes[(table, field)].get(_key(value), _EMPTY).keys()

    def find(self, table: str, field: str, value) -> Iterator[dict]:
        records = self._tables[table]
        for rid in self.ids_where(table, field, value):
            yield records[rid]

    def count_where(self, table: str, field: str, value) -> int:
        return len(self._indexes[(table, field)].get(_key(value), _EMPTY))

    def sorted_ids(self, table: str) -> SortedList:
        """All ids of a table in ascending order (cached; kept up to date by writes)."""
        records = self._tables[table]
        cached = self._sorted.get(table)
        if cached is None or cached[0] is not records:
            cached = (records, SortedList(records.keys()))
            self._sorted[table] = cached
        return cached[1]

    # --- writes ------------------------------------------------------------------------------
    def put(self, table: str, record: dict) -> None:
        """Insert or replace a record (a new dict each time; never mutate a stored one)."""
        if self._journal is not None and self._writer != threading.get_ident():
            with self.transaction():  # a lone write outside a transaction commits on its own
                return self.put(table, record)
        rid = record["id"]
        records = self._tables[table]
        old = records.get(rid)
        new_records = records.set(rid, record)
        self._reindex(table, rid, old, record)
        self._tables[table] = new_records
        self._track_sorted(table, records, new_records, rid, added=old is None)
        self.revision += 1
        if self.touched is not None:
            self.touched.add((table, rid))
        if self._changes is not None:
            self._changes[(table, rid)] = record

    def delete(self, table: str, rid: str) -> dict:
        if self._journal is not None and self._writer != threading.get_ident():
            with self.transaction():
                return self.delete(table, rid)
        records = self._tables[table]
        old = records[rid]
        new_records = records.delete(rid)
        self._reindex(table, rid, old, None)
        self._tables[table] = new_records
        self._track_sorted(table, records, new_records, rid, removed=True)
        self.revision += 1
        if self.touched is not None:
            self.touched.add((table, rid))
        if self._changes is not None:
            self._changes[(table, rid)] = None
        return old

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing: any exception restores every table and index as they were.

        Holds the store's lock, so a snapshot or fork taken from another thread (the analysis
        API runs in worker threads) never sees half of a change. With a journal attached, the
        outermost transaction is also the commit point: its change set reaches the journal
        before the lock is released (and so before any caller can acknowledge it); if the
        journal refuses it, memory rolls back too, so memory never holds what disk lacks.
        """
        with self._lock:
            saved = (dict(self._tables), dict(self._indexes), self.revision)
            touched = None if self.touched is None else set(self.touched)
            outermost = self._depth == 0
            # What to restore on failure: nothing (no journal), or the enclosing change set.
            if self._journal is None:
                changes = None
            elif outermost:
                changes = self._changes = {}
                self._writer = threading.get_ident()
            else:
                changes = dict(self._changes or {})
            self._depth += 1
            try:
                yield
                if outermost and self._changes:
                    self._journal.commit(self._changes, self.revision)
            except BaseException:
                self._tables, self._indexes, self.revision = dict(saved[0]), dict(saved[1]), saved[2]
                self.touched = touched
                if changes is not None and not outermost:
                    self._changes = changes
                raise
            finally:
                self._depth -= 1
                if outermost:
                    self._changes = None
                    self._writer = None

    def consistent(self) -> threading.RLock:
        """``with store.consistent():`` — read several tables with no change in between."""
        return self._lock

    def fork(self) -> "Store":
        """An independent copy sharing all structure with this one (copy-on-write)."""
        with self._lock:
            return self._fork()

    def _fork(self) -> "Store":
        other = Store.__new__(Store)
        other._lock = threading.RLock()
        other._index_fields = self._index_fields
        other._tables = dict(self._tables)
        other._indexes = dict(self._indexes)
        other.revision = self.revision
        other._sorted = {}
        other._depth = 0
        other.touched = set()
        other.base_revision = self.revision
        other._journal = None  # forks are what-if copies: nothing they do is ever durable
        other._changes = None
        other._writer = None
        return other

    # --- durability --------------------------------------------------------------------------
    def attach_journal(self, journal: "Journal") -> None:
        """From now on every committed change set goes to ``journal`` inside its transaction."""
        with self._lock:
            self._journal = journal

    def load(self, table: str, records: Iterable[dict]) -> None:
        """Bulk-insert restored records into an empty table (no journal, no revision bump:
        they are the past). Builds the table and its indexes in one pass each (mutable
        builders) rather than one persistent-map update per record and index."""
        with self._lock:
            if len(self._tables[table]):
                raise ValueError(f"table {table!r} is not empty")
            fields = self._index_fields[table]
            builder = self._tables[table].mutate()
            ids_by_value: dict[str, dict] = {f: {} for f in fields}
            for record in records:
                rid = record["id"]
                builder[rid] = record
                for field in fields:
                    by_value = ids_by_value[field]
                    for value in _values(record, field):
                        by_value.setdefault(value, []).append(rid)
            self._tables[table] = builder.finish()
            for field in fields:
                self._indexes[(table, field)] = immutables.Map(
                    (value, immutables.Map(dict.fromkeys(ids, True)))
                    for value, ids in ids_by_value[field].items()
                )
            self._sorted.pop(table, None)

    def tables(self) -> tuple[str, ...]:
        return tuple(self._tables)

    # --- internals ---------------------------------------------------------------------------
    def _reindex(self, table: str, rid: str, old: dict | None, new: dict | None) -> None:
        for field in self._index_fields[table]:
            before = _values(old, field)
            after = _values(new, field)
            if before == after:
                continue
            key = (table, field)
            index = self._indexes[key]
            for value in before - after:
                ids = index.get(value, _EMPTY).delete(rid)
                index = index.set(value, ids) if len(ids) else index.delete(value)
            for value in after - before:
                index = index.set(value, index.get(value, _EMPTY).set(rid, True))
            self._indexes[key] = index

    def _track_sorted(self, table, before, after, rid, added=False, removed=False) -> None:
        cached = self._sorted.get(table)
        if cached is None or cached[0] is not before:
            return
        ids = cached[1]
        if added:
            ids.add(rid)
        elif removed:
            ids.discard(rid)
        self._sorted[table] = (after, ids)


def _key(value):
    return tuple(value) if isinstance(value, list) else value


def _values(record: dict | None, field: str) -> frozenset:
    """The index keys of a record for a field: each element of a list, or the value itself.

    ``fixed_ips``-style fields index by ``ip_address`` and ``subnet_id`` through the dotted
    names ``fixed_ips.ip_address`` / ``fixed_ips.subnet_id``.
    """
    if record is None:
        return frozenset()
    if "." in field:
        outer, inner = field.split(".", 1)
        return frozenset(item.get(inner) for item in record.get(outer) or ())
    value = record.get(field)
    if isinstance(value, list):
        return frozenset(value)
    return frozenset((value,))
