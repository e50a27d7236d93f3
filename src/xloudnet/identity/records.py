"""The stored identity objects: plain frozen records, replaced (never mutated) on update."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping

DEFAULT_DOMAIN_ID = "default"
DEFAULT_DOMAIN_NAME = "Default"


@dataclass(frozen=True)
class Domain:
    id: str
    name: str
    description: str = ""
    enabled: bool = True
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    domain_id: str
    description: str = ""
    enabled: bool = True
    tags: tuple[str, ...] = ()
    # Attributes Keystone does not know but stores anyway ("extra"), e.g. tempest's fields.
    extra: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class User:
    id: str
    name: str
    domain_id: str
    password_hash: str | None = None
    enabled: bool = True
    default_project_id: str | None = None
    description: str | None = None
    extra: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    description: str | None = None


@dataclass(frozen=True, order=True)
class Assignment:
    """One grant: ``role_id`` for ``user_id`` on a project or a domain (``scope_kind``)."""

    user_id: str
    scope_kind: str  # "project" | "domain"
    scope_id: str
    role_id: str


@dataclass(frozen=True)
class AppCredential:
    """An application credential: a secret that logs a user into one project with a subset
    of the roles the user had there when it was created."""

    id: str
    name: str
    user_id: str
    project_id: str
    secret_hash: str
    role_ids: tuple[str, ...]
    description: str | None = None
    expires_at: datetime | None = None
    unrestricted: bool = False
