"""Slot-indexed numpy columns that are patched, never rebuilt, between compiles.

Every record of a collection gets a *slot* (a row number) the first time it is seen and keeps
it for the lifetime of the lineage of tables, so compiled pieces that refer to slots stay valid
while other records change. ``Rows.patched`` copies the columns once (a memcpy) and writes
only the rows of records that changed; columns of unchanged collections are shared as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Slots:
    """A stable id → row mapping (append-only: a removed id keeps its row, marked dead)."""

    ids: tuple = ()
    index: dict | None = None

    def get(self, key) -> int:
        return (self.index or {}).get(key, -1)

    def __len__(self) -> int:
        return len(self.ids)

    def with_ids(self, keys) -> "Slots":
        """These slots plus a new row for every key not seen before."""
        index = self.index or {}
        fresh = [k for k in dict.fromkeys(keys) if k is not None and k not in index]
        if not fresh:
            return self
        merged = dict(index)
        for offset, key in enumerate(fresh):
            merged[key] = len(self.ids) + offset
        return Slots(self.ids + tuple(fresh), merged)


class Rows:
    """Named columns of one collection. ``spec``: name → (dtype, default, two_dimensional)."""

    def __init__(self, spec: dict, columns: dict | None = None, size: int = 0):
        self.spec = spec
        self.size = size
        self.columns = columns or {
            name: np.full((0, 1) if two else 0, default, dtype=dtype)
            for name, (dtype, default, two) in spec.items()
        }

    def patched(self, size: int, updates: dict[int, dict]) -> "Rows":
        """A copy grown to ``size`` rows with ``updates`` (slot → {column: value}) written."""
        if size == self.size and not updates:
            return self
        columns = {}
        for name, (dtype, default, two) in self.spec.items():
            old = self.columns[name]
            width = old.shape[1] if two else 0
            if two:
                need = max([len(u[name]) for u in updates.values() if name in u] + [width, 1])
                col = np.full((size, need), default, dtype=dtype)
                col[: old.shape[0], :width] = old
            else:
                col = np.full(size, default, dtype=dtype)
                col[: len(old)] = old
            columns[name] = col
        for slot, values in updates.items():
            for name, value in values.items():
                col = columns[name]
                if col.ndim == 2:
                    col[slot, :] = self.spec[name][1]
                    if len(value):
                        col[slot, : len(value)] = value
                else:
                    col[slot] = value
        return Rows(self.spec, columns, size)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]
