"""Keystone's JSON shapes for identity records. ``v3`` is the public URL of the identity v3
API (``<base>/identity/v3``) used in ``links``."""

from __future__ import annotations

from xloudnet.identity.directory import Directory
from xloudnet.identity.records import AppCredential, Assignment, Domain, Project, Role, User
from xloudnet.identity.tokens import format_time


def collection(key: str, items: list[dict], self_url: str) -> dict:
    """A Keystone list body; Keystone does not paginate, so previous/next are always null."""
    return {key: items, "links": {"self": self_url, "previous": None, "next": None}}


def domain_view(domain: Domain, v3: str) -> dict:
    return {
        "id": domain.id,
        "name": domain.name,
        "description": domain.description,
        "enabled": domain.enabled,
        "tags": list(domain.tags),
        "options": {},
        "links": {"self": f"{v3}/domains/{domain.id}"},
    }


def project_view(project: Project, v3: str) -> dict:
    return {
        **project.extra,
        "id": project.id,
        "name": project.name,
        "domain_id": project.domain_id,
        "description": project.description,
        "enabled": project.enabled,
        "parent_id": project.domain_id,
        "is_domain": False,
        "tags": list(project.tags),
        "options": {},
        "links": {"self": f"{v3}/projects/{project.id}"},
    }


def user_view(user: User, v3: str) -> dict:
    body = {
        **user.extra,
        "id": user.id,
        "name": user.name,
        "domain_id": user.domain_id,
        "enabled": user.enabled,
        "password_expires_at": None,
        "options": {},
        "links": {"self": f"{v3}/users/{user.id}"},
    }
    # Keystone only shows these when they were set.
    if user.default_project_id is not None:
        body["default_project_id"] = user.default_project_id
    if user.description is not None:
        body["description"] = user.description
    return body


def role_view(role: Role, v3: str) -> dict:
    return {
        "id": role.id,
        "name": role.name,
        "domain_id": None,
        "description": role.description,
        "options": {},
        "links": {"self": f"{v3}/roles/{role.id}"},
    }


def app_credential_view(cred: AppCredential, directory: Directory, v3: str) -> dict:
    roles = [directory.roles[r] for r in cred.role_ids if r in directory.roles]
    return {
        "id": cred.id,
        "name": cred.name,
        "description": cred.description,
        "user_id": cred.user_id,
        "project_id": cred.project_id,
        "roles": [{"id": r.id, "name": r.name, "domain_id": None} for r in roles],
        "expires_at": format_time(cred.expires_at) if cred.expires_at else None,
        "unrestricted": cred.unrestricted,
        "access_rules": [],
        "links": {"self": f"{v3}/users/{cred.user_id}/application_credentials/{cred.id}"},
    }


def assignment_view(
    assignment: Assignment,
    prior_role_id: str | None,
    directory: Directory,
    v3: str,
    include_names: bool,
) -> dict:
    """One entry of ``GET /v3/role_assignments``; ``prior_role_id`` is set for a role that is
    there only because another role implies it (effective listings)."""
    a = assignment
    grant_role = prior_role_id or a.role_id
    links = {
        "assignment": f"{v3}/{a.scope_kind}s/{a.scope_id}/users/{a.user_id}/roles/{grant_role}"
    }
    if prior_role_id is not None:
        links["prior_role"] = f"{v3}/roles/{prior_role_id}"
    role, user, scope = {"id": a.role_id}, {"id": a.user_id}, {"id": a.scope_id}
    if include_names:
        role["name"] = directory.role(a.role_id).name
        _name_with_domain(user, directory.user(a.user_id), directory)
        if a.scope_kind == "project":
            _name_with_domain(scope, directory.project(a.scope_id), directory)
        else:
            scope["name"] = directory.domain(a.scope_id).name
    return {"role": role, "user": user, "scope": {a.scope_kind: scope}, "links": links}


def _name_with_domain(target: dict, record: Project | User, directory: Directory) -> None:
    domain = directory.domain(record.domain_id)
    target["name"] = record.name
    target["domain"] = {"id": domain.id, "name": domain.name}
