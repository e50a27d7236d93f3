"""``GET /v3/role_assignments`` and the "which projects can this user use" queries."""

from __future__ import annotations

from typing import Mapping

from xloudnet.identity.directory import Directory
from xloudnet.identity.records import Assignment, Domain, Project
from xloudnet.identity.schema import query_flag

# An assignment, and the role that implied it (None when it was granted directly).
Row = tuple[Assignment, str | None]


def list_assignments(directory: Directory, filters: Mapping[str, str]) -> list[Row]:
    """Assignments matching Keystone's filters (``user.id``, ``scope.project.id``,
    ``scope.domain.id``, ``role.id``); with ``effective`` the implied roles are listed too,
    each pointing at the granted role that brought it."""
    if "group.id" in filters or "scope.system" in filters:
        return []  # no groups and no system scope here
    wanted_user = filters.get("user.id")
    wanted_scope = [
        (kind, filters[f"scope.{kind}.id"])
        for kind in ("project", "domain")
        if f"scope.{kind}.id" in filters
    ]
    rows: list[Row] = [
        (a, None)
        for a in sorted(directory.assignments)
        if (wanted_user is None or a.user_id == wanted_user)
        and all(a.scope_kind == kind and a.scope_id == sid for kind, sid in wanted_scope)
    ]
    if "effective" in filters and query_flag(filters["effective"] or "true"):
        rows = _with_implied(directory, rows)
    wanted_role = filters.get("role.id")
    return [row for row in rows if wanted_role is None or row[0].role_id == wanted_role]


def _with_implied(directory: Directory, rows: list[Row]) -> list[Row]:
    """Add one row per implied role; a role both granted and implied is listed once, as
    granted."""
    seen = {a for a, _ in rows}
    result: list[Row] = []
    for assignment, prior in rows:
        result.append((assignment, prior))
        for role_id in sorted(directory.expand([assignment.role_id]) - {assignment.role_id}):
            implied = Assignment(
                assignment.user_id, assignment.scope_kind, assignment.scope_id, role_id
            )
            if implied not in seen:
                seen.add(implied)
                result.append((implied, assignment.role_id))
    return result


def projects_of_user(
    directory: Directory, user_id: str, enabled_only: bool = False
) -> list[Project]:
    """Projects where the user holds at least one role."""
    ids = {
        a.scope_id
        for a in directory.assignments
        if a.user_id == user_id and a.scope_kind == "project"
    }
    projects = [directory.projects[i] for i in sorted(ids) if i in directory.projects]
    return [p for p in projects if p.enabled or not enabled_only]


def domains_of_user(directory: Directory, user_id: str) -> list[Domain]:
    """Enabled domains where the user holds at least one role."""
    ids = {
        a.scope_id
        for a in directory.assignments
        if a.user_id == user_id and a.scope_kind == "domain"
    }
    return [
        directory.domains[i]
        for i in sorted(ids)
        if i in directory.domains and directory.domains[i].enabled
    ]
