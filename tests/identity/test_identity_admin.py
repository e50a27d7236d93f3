"""Admin rules of the identity service (no HTTP): policy, cascades and token revocation."""

from __future__ import annotations

import threading

import pytest
from identity_helpers import password_auth

from xloudnet.identity import Conflict, Forbidden, IdentityService, NotFound, ValidationError


def _caller(identity: IdentityService, user: str, project: str):
    token_id, _ = identity.issue_token(password_auth(user, project=project))
    return identity.validate(token_id)


@pytest.fixture
def admin(identity):
    return _caller(identity, "admin", "admin")


@pytest.fixture
def member(identity):
    return _caller(identity, "demo", "demo")


def test_every_admin_operation_refuses_members(identity, member):
    admin_api = identity.admin
    for call in (
        lambda: admin_api.list_projects(member, {}),
        lambda: admin_api.create_project(member, {"project": {"name": "x"}}),
        lambda: admin_api.list_users(member, {}),
        lambda: admin_api.create_user(member, {"user": {"name": "x"}}),
        lambda: admin_api.list_roles(member, {}),
        lambda: admin_api.create_role(member, {"role": {"name": "x"}}),
        lambda: admin_api.list_domains(member, {}),
        lambda: admin_api.grant(member, "project", member.project_id, member.user_id, "r"),
        lambda: admin_api.list_role_assignments(member, {}),
    ):
        with pytest.raises(Forbidden):
            call()


def test_deleting_a_project_revokes_its_tokens_and_grants(identity, admin, member):
    identity.admin.delete_project(admin, member.project_id)
    assert identity.validate(member.token_id) is None
    assert not any(a.scope_id == member.project_id for a in identity.directory.assignments)
    assert identity.validate(admin.token_id) is not None


def test_disabling_a_project_revokes_its_tokens(identity, admin, member):
    identity.admin.update_project(admin, member.project_id, {"project": {"enabled": False}})
    assert identity.validate(member.token_id) is None


def test_disabling_a_user_revokes_their_tokens(identity, admin, member):
    identity.admin.update_user(admin, member.user_id, {"user": {"enabled": False}})
    assert identity.validate(member.token_id) is None


def test_deleting_a_role_revokes_tokens_that_carried_it(identity, admin, member):
    role = identity.admin.create_role(admin, {"role": {"name": "observer"}})
    identity.admin.grant(admin, "project", member.project_id, member.user_id, role.id)
    observer = _caller(identity, "demo", "demo")
    assert "observer" in observer.roles
    identity.admin.delete_role(admin, role.id)
    assert identity.validate(observer.token_id) is None
    assert identity.validate(admin.token_id) is not None


def test_deleting_a_domain_removes_its_projects_and_users(identity, admin):
    domain = identity.admin.create_domain(admin, {"domain": {"name": "d2"}})
    project = identity.admin.create_project(
        admin, {"project": {"name": "p", "domain_id": domain.id}}
    )
    user = identity.admin.create_user(admin, {"user": {"name": "u", "domain_id": domain.id}})
    identity.admin.update_domain(admin, domain.id, {"domain": {"enabled": False}})
    identity.admin.delete_domain(admin, domain.id)
    assert project.id not in identity.directory.projects
    assert user.id not in identity.directory.users


def test_the_default_domain_cannot_be_deleted(identity, admin):
    identity.admin.update_domain(admin, "default", {"domain": {"enabled": False}})
    with pytest.raises(Forbidden):
        identity.admin.delete_domain(admin, "default")


def test_renaming_into_an_existing_name_conflicts(identity, admin, member):
    with pytest.raises(Conflict):
        identity.admin.update_project(admin, member.project_id, {"project": {"name": "admin"}})


def test_domain_of_a_project_cannot_change(identity, admin, member):
    with pytest.raises(ValidationError):
        identity.admin.update_project(admin, member.project_id, {"project": {"domain_id": "x"}})


def test_unknown_ids_are_not_found(identity, admin):
    for call in (
        lambda: identity.admin.get_project(admin, "nope"),
        lambda: identity.admin.get_user(admin, "nope"),
        lambda: identity.admin.get_role(admin, "nope"),
        lambda: identity.admin.get_domain(admin, "nope"),
        lambda: identity.admin.delete_project(admin, "nope"),
    ):
        with pytest.raises(NotFound):
            call()


def test_logins_and_admin_changes_from_many_threads_stay_consistent(identity, admin):
    """The service lock keeps concurrent requests from corrupting the stores."""
    errors: list[BaseException] = []

    def create_users(start: int) -> None:
        try:
            for i in range(start, start + 20):
                identity.admin.create_user(admin, {"user": {"name": f"user-{i}"}})
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    def log_in() -> None:
        try:
            for _ in range(20):
                identity.issue_token(password_auth("demo", project="demo"))
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=create_users, args=(i * 100,)) for i in range(3)]
    threads += [threading.Thread(target=log_in) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(u.name.startswith("user-") for u in identity.directory.users.values()) == 60
