"""``StateLog``: a state directory — one SQLite database (WAL mode) holding every durable record.

The database is a plain key → document table, ``records(space, collection, id, body)``, plus a
few counters in ``meta``. It knows nothing about networks or users: the control plane writes
its store's change sets into space ``control``, identity its records into space ``identity``,
each change set in one SQLite transaction, so a change is on disk completely or not at all.
Why SQLite and how durable an acknowledged write is: ``docs/state.md``.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

DB_FILE = "xloudnet.db"
LOCK_FILE = "xloudnet.lock"
SCHEMA_VERSION = 1
# synchronous=NORMAL: a commit is in the WAL file (the OS holds it) before it returns, so an
# acknowledged write survives the process dying (kill -9); a power loss may drop the last
# commits, never corrupting the database. FULL: SQLite also fsyncs the WAL at every commit.
SYNC_MODES = ("normal", "full")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    space TEXT NOT NULL, collection TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (space, collection, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    space TEXT NOT NULL, key TEXT NOT NULL, value NOT NULL,
    PRIMARY KEY (space, key)
) WITHOUT ROWID;
"""

# (collection, id) -> encoded document, or None to delete it.
Changes = dict[tuple[str, str], bytes | None]


class StateError(Exception):
    """The state directory cannot be used (in use by another server, newer schema, ...)."""


class StateLog:
    """One open state directory. Thread-safe: each ``write`` is one serialised transaction."""

    def __init__(self, directory: Path | str, sync: str = "normal", readonly: bool = False):
        self.directory = Path(directory).expanduser()
        if sync not in SYNC_MODES:
            raise StateError(f"state sync must be one of {', '.join(SYNC_MODES)}, not {sync!r}")
        self.readonly = readonly
        self._lock = threading.Lock()
        self._owner = None
        self._db = None
        try:
            self._open(self.directory / DB_FILE, sync)
        except sqlite3.Error as exc:
            self.close()
            raise StateError(f"{self.directory}: not a usable xloudnet state ({exc})") from None
        except BaseException:
            self.close()
            raise

    def _open(self, path: Path, sync: str) -> None:
        if self.readonly:
            if not path.exists():
                raise StateError(f"{self.directory}: no xloudnet state here")
            self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                       isolation_level=None, check_same_thread=False)
        else:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._owner = _take_ownership(self.directory / LOCK_FILE)
            fresh = not path.exists()
            if fresh:  # password hashes and live tokens: owner only (SQLite's -wal/-shm follow)
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={sync.upper()}")
            self._db.executescript(_SCHEMA)
            if fresh:
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StateError(f"{self.directory}: written by a newer xloudnet (schema {version})")

    # --- writes ------------------------------------------------------------------------------
    def write(self, space: str, changes: Changes, meta: dict[str, object] | None = None) -> None:
        """Apply one change set atomically and durably (per the sync mode), or raise."""
        upserts = [(space, c, i, body) for (c, i), body in changes.items() if body is not None]
        deletes = [(space, c, i) for (c, i), body in changes.items() if body is None]
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                if upserts:
                    db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?)", upserts)
                if deletes:
                    db.executemany("DELETE FROM records WHERE space=? AND collection=? AND id=?", deletes)
                if meta:
                    db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?, ?)",
                                   [(space, k, v) for k, v in meta.items()])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    # --- reads -------------------------------------------------------------------------------
    def records(self, space: str, chunk: int = 10_000) -> Iterator[tuple[str, str, bytes]]:
        """Every (collection, id, body) of a space, collection by collection in id order,
        read in chunks (keyset paging) so a large state is never all in memory as rows."""
        after = ("", "")
        while True:
            with self._lock:
                rows = self._db.execute(
                    "SELECT collection, id, body FROM records WHERE space=? AND (collection, id) > (?, ?)"
                    " ORDER BY collection, id LIMIT ?", (space, *after, chunk)
                ).fetchall()
            yield from rows
            if len(rows) < chunk:
                return
            after = rows[-1][:2]

    def meta(self, space: str, key: str, default=None):
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE space=? AND key=?", (space, key)).fetchone()
        return default if row is None else row[0]

    def is_empty(self, space: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM meta WHERE space=? LIMIT 1", (space,)).fetchone()
        return row is None

    def collections(self, space: str) -> Iterable[str]:
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT collection FROM records WHERE space=?", (space,)).fetchall()
        return [r[0] for r in rows]

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
            if self._owner is not None:
                self._owner.close()  # releases the directory for the next server
                self._owner = None

    def __enter__(self) -> "StateLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _take_ownership(path: Path):
    """An exclusive lock on the directory for this process's life: two servers writing one
    state directory would each overwrite what the other acknowledged."""
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise StateError(f"{path.parent}: in use by another xloudnet server") from None
    return handle


__all__ = ["StateLog", "StateError", "SYNC_MODES", "DB_FILE"]
