"""The admin side of the identity API: domains, projects, users, roles and grants.

Every operation takes the caller's ``TokenInfo`` first and checks policy itself (admin role,
or "it is your own" where Keystone allows that), so the HTTP layer cannot forget to.
Changes that take rights away also revoke the tokens that carried them, as Keystone does.
"""

from __future__ import annotations

import threading
from typing import Mapping

from xloudnet.identity.appcreds import AppCredentials
from xloudnet.identity.assignments import Row, domains_of_user, list_assignments, projects_of_user
from xloudnet.identity.directory import Directory
from xloudnet.identity.errors import Forbidden, NotFound, Unauthorized, ValidationError
from xloudnet.identity.passwords import MAX_PASSWORD_LENGTH, hash_password, verify_password
from xloudnet.identity.records import DEFAULT_DOMAIN_ID, Assignment, Domain, Project, Role, User
from xloudnet.identity.schema import (
    FLAG,
    ID,
    NAME,
    OPTIONS,
    TAGS,
    TEXT,
    Field,
    query_flag,
    read_entity,
)
from xloudnet.identity.tokens import TokenInfo, TokenStore

PASSWORD = Field("string", nullable=True, max_len=MAX_PASSWORD_LENGTH)
DOMAIN_FIELDS = {
    "name": NAME,
    "description": TEXT,
    "enabled": FLAG,
    "tags": TAGS,
    "options": OPTIONS,
}
PROJECT_FIELDS = {
    **DOMAIN_FIELDS,
    "domain_id": ID,
    "parent_id": ID,
    "is_domain": FLAG,
}
USER_FIELDS = {
    "name": NAME,
    "domain_id": ID,
    "password": PASSWORD,
    "enabled": FLAG,
    "default_project_id": ID,
    "description": TEXT,
    "options": OPTIONS,
}
ROLE_FIELDS = {"name": NAME, "description": TEXT, "domain_id": ID, "options": OPTIONS}

Filters = Mapping[str, str]


def _require_admin(caller: TokenInfo, action: str) -> None:
    if not caller.is_admin:
        raise Forbidden.for_action(action)


def _matches(record, filters: Filters, names: tuple[str, ...]) -> bool:
    """Exact-match filters on the given attributes; ``enabled`` is read as a boolean."""
    for key in names:
        if key not in filters:
            continue
        wanted = filters[key]
        if key == "enabled":
            if record.enabled != query_flag(wanted or "true"):
                return False
        elif getattr(record, key) != wanted:
            return False
    return True


class IdentityAdmin:
    """Admin operations over a ``Directory``; one lock serialises them with token issuing."""

    def __init__(
        self,
        directory: Directory,
        tokens: TokenStore,
        app_credentials: AppCredentials,
        lock: threading.RLock,
    ):
        self.directory = directory
        self._tokens = tokens
        self._app_credentials = app_credentials
        self._lock = lock

    # -- domains ------------------------------------------------------------------------------

    def list_domains(self, caller: TokenInfo, filters: Filters) -> list[Domain]:
        _require_admin(caller, "list_domains")
        with self._lock:
            domains = list(self.directory.domains.values())
        return [d for d in domains if _matches(d, filters, ("name", "enabled"))]

    def get_domain(self, caller: TokenInfo, domain_id: str) -> Domain:
        if not caller.is_admin and domain_id not in (caller.domain_id, caller.user_domain_id):
            raise Forbidden.for_action("get_domain")
        with self._lock:
            return self.directory.domain(domain_id)

    def create_domain(self, caller: TokenInfo, body: object) -> Domain:
        _require_admin(caller, "create_domain")
        known, _ = read_entity(body, "domain", DOMAIN_FIELDS, ("name",))
        known.pop("options", None)
        with self._lock:
            return self.directory.add_domain(**known)

    def update_domain(self, caller: TokenInfo, domain_id: str, body: object) -> Domain:
        _require_admin(caller, "update_domain")
        known, _ = read_entity(body, "domain", DOMAIN_FIELDS)
        known.pop("options", None)
        with self._lock:
            domain = self.directory.update(self.directory.domain(domain_id), **_clean(known))
            if not domain.enabled:
                self._tokens.revoke_where(lambda t: domain_id in (t.domain_id, t.user_domain_id))
            return domain

    def delete_domain(self, caller: TokenInfo, domain_id: str) -> None:
        _require_admin(caller, "delete_domain")
        with self._lock:
            domain = self.directory.domain(domain_id)
            if domain.enabled:
                raise Forbidden("Cannot delete a domain that is enabled, please disable it first.")
            if domain_id == DEFAULT_DOMAIN_ID:
                raise Forbidden("Cannot delete the default domain.")
            users = {u.id for u in self.directory.users.values() if u.domain_id == domain_id}
            projects = {p.id for p in self.directory.projects.values() if p.domain_id == domain_id}
            self.directory.remove_domain(domain_id)
            self._forget(users=users, projects=projects)

    # -- projects -----------------------------------------------------------------------------

    def list_projects(self, caller: TokenInfo, filters: Filters) -> list[Project]:
        _require_admin(caller, "list_projects")
        if query_flag(filters.get("is_domain")):
            return []
        filters = dict(filters)
        if "parent_id" in filters:  # every project's parent is its domain here
            filters.setdefault("domain_id", filters.pop("parent_id"))
        with self._lock:
            projects = list(self.directory.projects.values())
        return [p for p in projects if _matches(p, filters, ("name", "domain_id", "enabled"))]

    def get_project(self, caller: TokenInfo, project_id: str) -> Project:
        if not caller.is_admin and caller.project_id != project_id:
            raise Forbidden.for_action("get_project")
        with self._lock:
            return self.directory.project(project_id)

    def create_project(self, caller: TokenInfo, body: object) -> Project:
        _require_admin(caller, "create_project")
        known, extra = read_entity(body, "project", PROJECT_FIELDS, ("name",), keep_extra=True)
        if known.pop("is_domain", False):
            raise ValidationError("Projects acting as domains are not supported.")
        domain_id = known.pop("domain_id", None) or caller.domain_id or DEFAULT_DOMAIN_ID
        parent_id = known.pop("parent_id", None)
        if parent_id not in (None, domain_id):
            raise ValidationError(
                "Project hierarchies are not supported: parent_id must be the domain."
            )
        known.pop("options", None)
        with self._lock:
            if domain_id not in self.directory.domains:
                raise ValidationError(f"Could not find domain: {domain_id}.")
            return self.directory.add_project(domain_id=domain_id, extra=extra, **_clean(known))

    def update_project(self, caller: TokenInfo, project_id: str, body: object) -> Project:
        _require_admin(caller, "update_project")
        known, extra = read_entity(body, "project", PROJECT_FIELDS, keep_extra=True)
        with self._lock:
            project = self.directory.project(project_id)
            if known.pop("domain_id", project.domain_id) != project.domain_id:
                raise ValidationError("Cannot change Domain ID.")
            for fixed in ("parent_id", "is_domain", "options"):
                known.pop(fixed, None)
            project = self.directory.update(
                project, extra={**project.extra, **extra}, **_clean(known)
            )
            if not project.enabled:
                self._tokens.revoke_where(lambda t: t.project_id == project_id)
            return project

    def delete_project(self, caller: TokenInfo, project_id: str) -> None:
        _require_admin(caller, "delete_project")
        with self._lock:
            self.directory.remove_project(project_id)
            self._forget(projects={project_id})

    # -- users --------------------------------------------------------------------------------

    def list_users(self, caller: TokenInfo, filters: Filters) -> list[User]:
        _require_admin(caller, "list_users")
        with self._lock:
            users = list(self.directory.users.values())
        return [u for u in users if _matches(u, filters, ("name", "domain_id", "enabled"))]

    def get_user(self, caller: TokenInfo, user_id: str) -> User:
        if not caller.is_admin and caller.user_id != user_id:
            raise Forbidden.for_action("get_user")
        with self._lock:
            return self.directory.user(user_id)

    def create_user(self, caller: TokenInfo, body: object) -> User:
        _require_admin(caller, "create_user")
        known, extra = read_entity(body, "user", USER_FIELDS, ("name",), keep_extra=True)
        domain_id = known.pop("domain_id", None) or caller.domain_id or DEFAULT_DOMAIN_ID
        password = known.pop("password", None)
        known.pop("options", None)
        with self._lock:
            if domain_id not in self.directory.domains:
                raise ValidationError(f"Could not find domain: {domain_id}.")
            return self.directory.add_user(
                domain_id=domain_id,
                password_hash=hash_password(password) if password is not None else None,
                extra=extra,
                **known,
            )

    def update_user(self, caller: TokenInfo, user_id: str, body: object) -> User:
        _require_admin(caller, "update_user")
        known, extra = read_entity(body, "user", USER_FIELDS, keep_extra=True)
        known.pop("options", None)
        with self._lock:
            user = self.directory.user(user_id)
            if known.pop("domain_id", user.domain_id) != user.domain_id:
                raise ValidationError("Cannot change Domain ID.")
            if "password" in known:
                password = known.pop("password")
                known["password_hash"] = hash_password(password) if password is not None else None
            user = self.directory.update(user, extra={**user.extra, **extra}, **known)
            if not user.enabled or "password_hash" in known:
                self._tokens.revoke_where(lambda t: t.user_id == user_id)
            return user

    def change_password(self, caller: TokenInfo, user_id: str, body: object) -> None:
        """``POST /v3/users/{id}/password``: the user's own, with the original password."""
        if caller.user_id != user_id:
            raise Forbidden.for_action("change_password")
        fields = {"password": PASSWORD, "original_password": PASSWORD}
        known, _ = read_entity(body, "user", fields, ("password", "original_password"))
        if known["password"] is None:
            raise ValidationError("The new password must not be null.")
        with self._lock:
            user = self.directory.user(user_id)
            if not verify_password(known["original_password"] or "", user.password_hash):
                raise Unauthorized()
            self.directory.update(user, password_hash=hash_password(known["password"]))
            self._tokens.revoke_where(lambda t: t.user_id == user_id)

    def delete_user(self, caller: TokenInfo, user_id: str) -> None:
        _require_admin(caller, "delete_user")
        with self._lock:
            self.directory.remove_user(user_id)
            self._forget(users={user_id})

    # -- roles --------------------------------------------------------------------------------

    def list_roles(self, caller: TokenInfo, filters: Filters) -> list[Role]:
        _require_admin(caller, "list_roles")
        if filters.get("domain_id"):
            return []  # no domain-specific roles here
        with self._lock:
            roles = list(self.directory.roles.values())
        return [r for r in roles if _matches(r, filters, ("name",))]

    def get_role(self, caller: TokenInfo, role_id: str) -> Role:
        _require_admin(caller, "get_role")
        with self._lock:
            return self.directory.role(role_id)

    def create_role(self, caller: TokenInfo, body: object) -> Role:
        _require_admin(caller, "create_role")
        known, _ = read_entity(body, "role", ROLE_FIELDS, ("name",))
        if known.pop("domain_id", None) is not None:
            raise ValidationError("Domain-specific roles are not supported.")
        known.pop("options", None)
        with self._lock:
            return self.directory.add_role(**known)

    def update_role(self, caller: TokenInfo, role_id: str, body: object) -> Role:
        _require_admin(caller, "update_role")
        known, _ = read_entity(body, "role", ROLE_FIELDS)
        known.pop("domain_id", None)
        known.pop("options", None)
        with self._lock:
            return self.directory.update(self.directory.role(role_id), **known)

    def delete_role(self, caller: TokenInfo, role_id: str) -> None:
        _require_admin(caller, "delete_role")
        with self._lock:
            role = self.directory.remove_role(role_id)
            self._tokens.revoke_where(lambda t: role.name in t.roles)
            self._app_credentials.forget(lambda c: role_id in c.role_ids)

    # -- grants -------------------------------------------------------------------------------

    def grant(
        self, caller: TokenInfo, scope_kind: str, scope_id: str, user_id: str, role_id: str
    ) -> None:
        _require_admin(caller, "create_grant")
        with self._lock:
            self.directory.grant(user_id, scope_kind, scope_id, role_id)

    def check_grant(
        self, caller: TokenInfo, scope_kind: str, scope_id: str, user_id: str, role_id: str
    ) -> None:
        _require_admin(caller, "check_grant")
        with self._lock:
            self._existing_grant(Assignment(user_id, scope_kind, scope_id, role_id))

    def revoke_grant(
        self, caller: TokenInfo, scope_kind: str, scope_id: str, user_id: str, role_id: str
    ) -> None:
        _require_admin(caller, "revoke_grant")
        with self._lock:
            assignment = self._existing_grant(Assignment(user_id, scope_kind, scope_id, role_id))
            self.directory.assignments.discard(assignment)
            scope_attr = "project_id" if scope_kind == "project" else "domain_id"
            self._tokens.revoke_where(
                lambda t: t.user_id == user_id and getattr(t, scope_attr) == scope_id
            )
            if scope_kind == "project":
                self._app_credentials.forget(
                    lambda c: c.user_id == user_id and c.project_id == scope_id
                )

    def list_grants(
        self, caller: TokenInfo, scope_kind: str, scope_id: str, user_id: str
    ) -> list[Role]:
        _require_admin(caller, "list_grants")
        with self._lock:
            (self.directory.project if scope_kind == "project" else self.directory.domain)(scope_id)
            self.directory.user(user_id)
            role_ids = self.directory.direct_role_ids(user_id, scope_kind, scope_id)
            return sorted((self.directory.roles[r] for r in role_ids), key=lambda r: r.name)

    def list_role_assignments(self, caller: TokenInfo, filters: Filters) -> list[Row]:
        """Admins see every assignment; anyone may list their own (``user.id`` = self)."""
        if not caller.is_admin and filters.get("user.id") != caller.user_id:
            raise Forbidden.for_action("list_role_assignments")
        with self._lock:
            return list_assignments(self.directory, filters)

    def list_user_projects(self, caller: TokenInfo, user_id: str) -> list[Project]:
        if not caller.is_admin and caller.user_id != user_id:
            raise Forbidden.for_action("list_user_projects")
        with self._lock:
            self.directory.user(user_id)
            return projects_of_user(self.directory, user_id)

    def auth_projects(self, caller: TokenInfo) -> list[Project]:
        """``GET /v3/auth/projects``: the enabled projects the caller can scope to."""
        with self._lock:
            return projects_of_user(self.directory, caller.user_id, enabled_only=True)

    def auth_domains(self, caller: TokenInfo) -> list[Domain]:
        with self._lock:
            return domains_of_user(self.directory, caller.user_id)

    def _existing_grant(self, assignment: Assignment) -> Assignment:
        d = self.directory
        d.user(assignment.user_id)
        d.role(assignment.role_id)
        (d.project if assignment.scope_kind == "project" else d.domain)(assignment.scope_id)
        if assignment not in d.assignments:
            raise NotFound(
                f"Could not find role assignment with role: {assignment.role_id}, user or "
                f"group: {assignment.user_id}, project, domain, or system: {assignment.scope_id}."
            )
        return assignment

    def _forget(self, users: set[str] = frozenset(), projects: set[str] = frozenset()) -> None:
        """Revoke the tokens and credentials of deleted users and projects."""
        self._tokens.revoke_where(lambda t: t.user_id in users or t.project_id in projects)
        self._app_credentials.forget(lambda c: c.user_id in users or c.project_id in projects)


def _clean(known: dict) -> dict:
    """Drop nulls for attributes that cannot be null on the record (description → "")."""
    if "description" in known and known["description"] is None:
        known = {**known, "description": ""}
    return known
