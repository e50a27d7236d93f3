"""Durable identity: domains, projects, users, roles, grants, application credentials and live
tokens mirrored into a state log, so ids stay stable and clients keep their tokens across a
restart.

Identity keeps its records in plain dicts changed under one lock. ``IdentityJournal.flush``
runs when that lock is released by its outermost holder (``FlushingLock``): it writes whatever
changed since the last flush as one transaction. Records are immutable dataclasses replaced on
change, so "changed" is an identity comparison per record; the directory is small (accounts,
not resources). Tokens can be many, so the token store reports the ids it touched instead.
The journal writes before the lock is released, so an answer built under the lock (a new
token, a created user) is on disk before the client sees it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Protocol

from pydantic import TypeAdapter

from xloudnet.identity.records import AppCredential, Assignment, Domain, Project, Role, User
from xloudnet.identity.tokens import TokenInfo, as_utc

SPACE = "identity"

_RECORDS: dict[str, TypeAdapter] = {
    "domains": TypeAdapter(Domain),
    "projects": TypeAdapter(Project),
    "users": TypeAdapter(User),
    "roles": TypeAdapter(Role),
    "assignments": TypeAdapter(Assignment),
    "app_credentials": TypeAdapter(AppCredential),
}
_IMPLIES = TypeAdapter(list[str])
_TOKEN = TypeAdapter(TokenInfo)
_TOKEN_BODY = TypeAdapter(dict)


class StateSpace(Protocol):
    """What identity needs from ``xloudnet.control.statelog.StateLog``."""

    def write(self, space: str, changes: dict[tuple[str, str], bytes | None], meta: dict | None = None) -> None: ...

    def records(self, space: str) -> Iterator[tuple[str, str, bytes]]: ...

    def is_empty(self, space: str) -> bool: ...


class FlushingLock:
    """A re-entrant lock that calls ``flush`` when its outermost holder leaves, still locked."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self.flush: Callable[[], None] | None = None

    def __enter__(self) -> "FlushingLock":
        self._lock.acquire()
        self._depth += 1
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self._depth == 1 and self.flush is not None:
                self.flush()  # also after a failure: memory and disk must never disagree
        finally:
            self._depth -= 1
            self._lock.release()


class IdentityJournal:
    """Restores an identity service's records from a state log and writes their changes."""

    def __init__(self, log: StateSpace, directory, app_credentials, tokens, now: Callable):
        self.log = log
        self.now = now
        self.directory = directory
        self.app_credentials = app_credentials
        self.tokens = tokens
        self._written: dict[tuple[str, str], object] = {}
        tokens.changed = set()

    # --- restore -------------------------------------------------------------------------------
    def restore(self) -> bool:
        """Replace the directory's records with the stored ones; False when nothing is stored."""
        if self.log.is_empty(SPACE):
            return False
        tables: dict[str, dict] = {kind: {} for kind in _RECORDS}
        implies: dict[str, frozenset[str]] = {}
        tokens: list[tuple[TokenInfo, dict]] = []
        for kind, rid, body in self.log.records(SPACE):
            if kind in _RECORDS:
                tables[kind][rid] = _RECORDS[kind].validate_json(body)
            elif kind == "implies":
                implies[rid] = frozenset(_IMPLIES.validate_json(body))
            elif kind == "tokens":
                stored = _TOKEN_BODY.validate_json(body)
                tokens.append((_TOKEN.validate_python(stored["info"]), stored["body"]))
        d = self.directory
        d.domains, d.projects, d.users, d.roles = (
            tables["domains"], tables["projects"], tables["users"], tables["roles"]
        )
        d.assignments = set(tables["assignments"].values())
        d.implies = implies
        self.app_credentials.restore(tables["app_credentials"].values())
        now = self.now()
        for info, body in tokens:
            if as_utc(info.expires_at) > now:
                self.tokens.add(info, body)
        self._written = dict(self._current())
        # Nothing restored needs writing again, but expired tokens are dropped from disk.
        self.tokens.changed.clear()
        self.tokens.changed.update(i.token_id for i, _ in tokens if as_utc(i.expires_at) <= now)
        return True

    # --- write ---------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write every record added, changed or removed since the last flush (one transaction)."""
        changes: dict[tuple[str, str], bytes | None] = {}
        seen = set()
        for key, record in self._current():
            seen.add(key)
            if self._written.get(key) is not record:
                changes[key] = _encode(key[0], record)
        for key in self._written:
            if key[0] != "tokens" and key not in seen:
                changes[key] = None
        for token_id in self.tokens.changed:
            entry = self.tokens.entry(token_id)
            changes[("tokens", token_id)] = None if entry is None else _encode_token(*entry)
        if not changes:
            return
        self.log.write(SPACE, changes, {"schema": 1})
        self.tokens.changed.clear()
        for key, body in changes.items():
            if body is None:
                self._written.pop(key, None)
        self._written.update((k, r) for k, r in self._current() if k in changes)

    def _current(self) -> Iterator[tuple[tuple[str, str], object]]:
        d = self.directory
        for kind, table in (("domains", d.domains), ("projects", d.projects), ("users", d.users), ("roles", d.roles)):
            for rid, record in table.items():
                yield (kind, rid), record
        for a in d.assignments:
            yield ("assignments", f"{a.user_id} {a.scope_kind} {a.scope_id} {a.role_id}"), a
        for rid, implied in d.implies.items():
            yield ("implies", rid), implied
        for cred in self.app_credentials.all():
            yield ("app_credentials", cred.id), cred


def _encode(kind: str, record) -> bytes:
    if kind == "implies":
        return _IMPLIES.dump_json(sorted(record))
    return _RECORDS[kind].dump_json(record)


def _encode_token(info: TokenInfo, body: dict) -> bytes:
    return _TOKEN_BODY.dump_json({"info": _TOKEN.dump_python(info, mode="json"), "body": body})


__all__ = ["FlushingLock", "IdentityJournal", "StateSpace"]
