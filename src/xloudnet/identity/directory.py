"""The identity directory: domains, projects, users, roles and role assignments in memory.

It keeps the stores consistent (unique names, cascading deletes) but knows nothing about
callers, policy or tokens; ``IdentityAdmin`` and ``IdentityService`` add those.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Iterable

from xloudnet.identity.auth import DomainRef, NamedRef
from xloudnet.identity.errors import Conflict, NotFound
from xloudnet.identity.records import (
    DEFAULT_DOMAIN_ID,
    DEFAULT_DOMAIN_NAME,
    Assignment,
    Domain,
    Project,
    Role,
    User,
)

# The default roles and what each implies, as devstack's keystone bootstrap sets them up.
DEFAULT_ROLES = ("admin", "member", "reader")
DEFAULT_IMPLIED = {"admin": ("member",), "member": ("reader",)}


class Directory:
    """All identity records, indexed by id."""

    def __init__(self, new_id: Callable[[], str]):
        self._new_id = new_id
        self.domains: dict[str, Domain] = {}
        self.projects: dict[str, Project] = {}
        self.users: dict[str, User] = {}
        self.roles: dict[str, Role] = {}
        self.assignments: set[Assignment] = set()
        self.implies: dict[str, frozenset[str]] = {}  # role id -> directly implied role ids
        self.domains[DEFAULT_DOMAIN_ID] = Domain(DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME)
        for name in DEFAULT_ROLES:
            self.add_role(name)
        for prior, implied in DEFAULT_IMPLIED.items():
            self.implies[self.role_named(prior).id] = frozenset(
                self.role_named(name).id for name in implied
            )

    # -- look-ups -------------------------------------------------------------------------

    def domain(self, domain_id: str) -> Domain:
        return _get(self.domains, domain_id, "domain")

    def project(self, project_id: str) -> Project:
        return _get(self.projects, project_id, "project")

    def user(self, user_id: str) -> User:
        return _get(self.users, user_id, "user")

    def role(self, role_id: str) -> Role:
        return _get(self.roles, role_id, "role")

    def find_domain(self, ref: DomainRef) -> Domain | None:
        """A domain by id (preferred) or by name; ``None`` if there is none."""
        if ref.id is not None:
            return self.domains.get(ref.id)
        return next((d for d in self.domains.values() if d.name == ref.name), None)

    def find_user(self, ref: NamedRef) -> User | None:
        if ref.id is not None:
            return self.users.get(ref.id)
        domain = self.find_domain(ref.domain) if ref.domain else None
        return self.user_named(ref.name, domain.id) if domain else None

    def find_project(self, ref: NamedRef) -> Project | None:
        if ref.id is not None:
            return self.projects.get(ref.id)
        domain = self.find_domain(ref.domain) if ref.domain else None
        return self.project_named(ref.name, domain.id) if domain else None

    def project_named(self, name: str, domain_id: str) -> Project | None:
        return next(
            (p for p in self.projects.values() if p.name == name and p.domain_id == domain_id),
            None,
        )

    def user_named(self, name: str, domain_id: str) -> User | None:
        return next(
            (u for u in self.users.values() if u.name == name and u.domain_id == domain_id),
            None,
        )

    def role_named(self, name: str) -> Role | None:
        return next((r for r in self.roles.values() if r.name == name), None)

    # -- roles ------------------------------------------------------------------------------

    def direct_role_ids(self, user_id: str, scope_kind: str, scope_id: str) -> set[str]:
        return {
            a.role_id
            for a in self.assignments
            if a.user_id == user_id and a.scope_kind == scope_kind and a.scope_id == scope_id
        }

    def expand(self, role_ids: Iterable[str]) -> set[str]:
        """The role ids plus every role they imply, transitively."""
        result: set[str] = set()
        pending = list(role_ids)
        while pending:
            role_id = pending.pop()
            if role_id in result or role_id not in self.roles:
                continue
            result.add(role_id)
            pending.extend(self.implies.get(role_id, ()))
        return result

    def implied_by(self, role_id: str) -> frozenset[str]:
        return self.implies.get(role_id, frozenset())

    # -- creation ---------------------------------------------------------------------------

    def add_domain(self, name: str, **attrs) -> Domain:
        if any(d.name == name for d in self.domains.values()):
            raise _duplicate("domain", name)
        domain = Domain(id=self._new_id(), name=name, **attrs)
        self.domains[domain.id] = domain
        return domain

    def add_project(self, name: str, domain_id: str, **attrs) -> Project:
        self.domain(domain_id)
        if self.project_named(name, domain_id) is not None:
            raise _duplicate("project", name, domain_id)
        project = Project(id=self._new_id(), name=name, domain_id=domain_id, **attrs)
        self.projects[project.id] = project
        return project

    def add_user(self, name: str, domain_id: str, **attrs) -> User:
        self.domain(domain_id)
        if self.user_named(name, domain_id) is not None:
            raise _duplicate("user", name, domain_id)
        user = User(id=self._new_id(), name=name, domain_id=domain_id, **attrs)
        self.users[user.id] = user
        return user

    def add_role(self, name: str, **attrs) -> Role:
        if self.role_named(name) is not None:
            raise _duplicate("role", name)
        role = Role(id=self._new_id(), name=name, **attrs)
        self.roles[role.id] = role
        return role

    def grant(self, user_id: str, scope_kind: str, scope_id: str, role_id: str) -> Assignment:
        self.user(user_id)
        self.role(role_id)
        (self.project if scope_kind == "project" else self.domain)(scope_id)
        assignment = Assignment(user_id, scope_kind, scope_id, role_id)
        self.assignments.add(assignment)
        return assignment

    # -- updates ----------------------------------------------------------------------------

    def update(self, record, **changes):
        """Replace a record with changed attributes, keeping names unique."""
        table, kind = self._table_of(record)
        updated = replace(record, **changes)
        if "name" in changes and changes["name"] != record.name:
            self._check_rename(updated, kind)
        table[record.id] = updated
        return updated

    def _check_rename(self, record, kind: str) -> None:
        table, _ = self._table_of(record)
        scope = getattr(record, "domain_id", None)
        for other in table.values():
            if other.id != record.id and other.name == record.name:
                if getattr(other, "domain_id", None) == scope:
                    raise _duplicate(kind, record.name, scope)

    def _table_of(self, record) -> tuple[dict, str]:
        for table, kind, cls in (
            (self.domains, "domain", Domain),
            (self.projects, "project", Project),
            (self.users, "user", User),
            (self.roles, "role", Role),
        ):
            if isinstance(record, cls):
                return table, kind
        raise TypeError(f"not a directory record: {record!r}")

    # -- deletion (cascading) ---------------------------------------------------------------

    def remove_project(self, project_id: str) -> Project:
        project = self.projects.pop(self.project(project_id).id)
        self._drop_assignments(lambda a: a.scope_kind == "project" and a.scope_id == project_id)
        return project

    def remove_user(self, user_id: str) -> User:
        user = self.users.pop(self.user(user_id).id)
        self._drop_assignments(lambda a: a.user_id == user_id)
        return user

    def remove_role(self, role_id: str) -> Role:
        role = self.roles.pop(self.role(role_id).id)
        self._drop_assignments(lambda a: a.role_id == role_id)
        self.implies.pop(role_id, None)
        self.implies = {k: v - {role_id} for k, v in self.implies.items()}
        return role

    def remove_domain(self, domain_id: str) -> Domain:
        domain = self.domain(domain_id)
        for project in [p for p in self.projects.values() if p.domain_id == domain_id]:
            self.remove_project(project.id)
        for user in [u for u in self.users.values() if u.domain_id == domain_id]:
            self.remove_user(user.id)
        self._drop_assignments(lambda a: a.scope_kind == "domain" and a.scope_id == domain_id)
        return self.domains.pop(domain.id)

    def _drop_assignments(self, doomed: Callable[[Assignment], bool]) -> None:
        self.assignments = {a for a in self.assignments if not doomed(a)}


def _get(table: dict, key: str, kind: str):
    try:
        return table[key]
    except (KeyError, TypeError):
        raise NotFound.for_kind(kind, key) from None


def _duplicate(kind: str, name: str, domain_id: str | None = None) -> Conflict:
    where = f" at domain ID {domain_id}" if domain_id else ""
    return Conflict(
        f"Conflict occurred attempting to store {kind} - Duplicate entry found with name "
        f"{name}{where}."
    )
