"""Issued tokens: what a token says (``TokenInfo``) and where live tokens are kept.

``TokenStore.validate`` runs on every API request, so it is one dict lookup and one time
comparison; expired tokens are swept in bulk when new ones are stored.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterator

from xloudnet.control.context import Context


def format_time(moment: datetime) -> str:
    """Keystone's timestamp layout: UTC, microseconds, a literal ``Z`` (never ``+00:00``)."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class TokenInfo:
    """What a valid token says about its bearer.

    ``roles`` are role names with implied roles expanded (admin ⇒ member ⇒ reader).
    ``domain_id`` is the domain of the scope: the project's domain for a project-scoped
    token, the domain itself for a domain-scoped one, ``None`` when unscoped.
    """

    token_id: str
    user_id: str
    user_name: str
    project_id: str | None
    project_name: str | None
    roles: frozenset[str]
    expires_at: datetime
    domain_id: str | None
    user_domain_id: str = "default"
    issued_at: datetime | None = None
    methods: tuple[str, ...] = ("password",)
    audit_ids: tuple[str, ...] = ()
    application_credential_id: str | None = None
    # An application credential may not mint further credentials unless created unrestricted.
    restricted: bool = False

    @property
    def scope(self) -> str:
        """``"project"``, ``"domain"`` or ``"unscoped"``."""
        if self.project_id is not None:
            return "project"
        return "domain" if self.domain_id is not None else "unscoped"

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def to_context(self, request_id: str | None = None) -> Context:
        """The control-plane caller this token stands for."""
        return Context(
            project_id=self.project_id,
            user_id=self.user_id,
            roles=self.roles,
            request_id=request_id,
        )


class TokenStore:
    """Live tokens by id, with the token body rendered once at issue time."""

    def __init__(self, clock: Callable[[], datetime]):
        self._clock = clock
        self._info: dict[str, TokenInfo] = {}
        self._bodies: dict[str, dict] = {}
        self._expiry: list[tuple[datetime, str]] = []  # heap, for sweeping
        # Ids added or revoked since the owner last looked (set by a journal; None: untracked).
        self.changed: set[str] | None = None

    def add(self, info: TokenInfo, body: dict) -> None:
        self.sweep()
        self._info[info.token_id] = info
        self._bodies[info.token_id] = body
        heapq.heappush(self._expiry, (as_utc(info.expires_at), info.token_id))
        if self.changed is not None:
            self.changed.add(info.token_id)

    def validate(self, token_id: str | None) -> TokenInfo | None:
        """The token's info, or ``None`` when it is unknown, revoked or expired."""
        info = self._info.get(token_id) if token_id else None
        if info is None or info.expires_at <= self._clock():
            return None
        return info

    def body(self, token_id: str) -> dict | None:
        """The rendered token body (without catalog) of a valid token."""
        if self.validate(token_id) is None:
            return None
        return self._bodies.get(token_id)

    def revoke(self, token_id: str) -> bool:
        """Forget one token; False if it was not live."""
        self._bodies.pop(token_id, None)
        if self.changed is not None:
            self.changed.add(token_id)
        return self._info.pop(token_id, None) is not None

    def entry(self, token_id: str) -> tuple[TokenInfo, dict] | None:
        """A held token's info and body, expired or not (for persisting it)."""
        info = self._info.get(token_id)
        return None if info is None else (info, self._bodies[token_id])

    def revoke_where(self, predicate: Callable[[TokenInfo], bool]) -> int:
        """Revoke every token whose info matches; returns how many."""
        doomed = [tid for tid, info in list(self._info.items()) if predicate(info)]
        for token_id in doomed:
            self.revoke(token_id)
        return len(doomed)

    def __iter__(self) -> Iterator[TokenInfo]:
        return iter(list(self._info.values()))

    def __len__(self) -> int:
        return len(self._info)

    def sweep(self) -> None:
        """Drop tokens whose expiry has passed (cheap: pops from the front of a heap)."""
        now = as_utc(self._clock())
        while self._expiry and self._expiry[0][0] <= now:
            _, token_id = heapq.heappop(self._expiry)
            info = self._info.get(token_id)
            if info is not None and as_utc(info.expires_at) <= now:
                self.revoke(token_id)
