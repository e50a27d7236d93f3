"""In-process: identity with a state log keeps ids, grants, credentials and live tokens."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from xloudnet.control.statelog import StateLog
from xloudnet.identity import IdentityService
from xloudnet.settings import Account, Settings

SETTINGS = Settings(accounts=(Account("admin", "admin"), Account("demo", "member")))


class Clock:
    def __init__(self):
        self.now = datetime(2026, 6, 1, tzinfo=timezone.utc)

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def restart(tmp_path, clock):
    """``restart(settings)``: an identity service on the state directory, the previous one's
    log closed first (as when a server process ends)."""
    logs: list[StateLog] = []

    def start(settings: Settings = SETTINGS) -> IdentityService:
        if logs:
            logs[-1].close()
        logs.append(StateLog(tmp_path / "state"))
        return IdentityService(settings, clock=clock, state=logs[-1])

    yield start
    logs[-1].close()


def _auth(user, project, password="secret"):
    return {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}},
    }}


def _login(identity, user="demo", project=None, password="secret"):
    token, _ = identity.issue_token(_auth(user, project or user, password))
    return token


def _records(identity):
    d = identity.directory
    return (dict(d.domains), dict(d.projects), dict(d.users), dict(d.roles), set(d.assignments), dict(d.implies))


def test_users_projects_roles_and_grants_keep_their_ids_across_a_restart(restart):
    first = restart()
    admin = first.validate(_login(first, "admin"))
    project = first.admin.create_project(admin, {"project": {"name": "team", "domain_id": "default"}})
    user = first.admin.create_user(admin, {"user": {"name": "alice", "domain_id": "default", "password": "pw"}})
    role = first.admin.create_role(admin, {"role": {"name": "auditor"}})
    first.admin.grant(admin, "project", project.id, user.id, role.id)
    before = _records(first)
    second = restart()
    assert _records(second) == before
    assert second.validate(_login(second, "alice", "team", "pw")).roles == frozenset({"auditor"})


def test_live_tokens_survive_a_restart_and_revoked_ones_stay_revoked(restart):
    first = restart()
    kept, revoked = _login(first), _login(first)
    first.revoke(revoked)
    second = restart()
    info = second.validate(kept)
    assert info is not None and info.project_name == "demo"
    assert second.token_document(info)["token"] == first.token_document(first.validate(kept))["token"]
    assert second.validate(revoked) is None


def test_expired_tokens_are_not_restored(restart, clock):
    first = restart(Settings(accounts=SETTINGS.accounts, token_ttl_seconds=60))
    token = _login(first)
    clock.now += timedelta(seconds=61)
    second = restart()
    assert second.validate(token) is None
    assert second.tokens.entry(token) is None


def test_application_credentials_survive_a_restart(restart):
    first = restart()
    demo = first.validate(_login(first))
    cred, secret = first.app_credentials.create(demo, demo.user_id, {"application_credential": {"name": "ci"}})
    second = restart()
    body = {"auth": {"identity": {"methods": ["application_credential"],
                                  "application_credential": {"id": cred.id, "secret": secret}}}}
    token, _ = second.issue_token(body)
    assert second.validate(token).project_id == demo.project_id


def test_a_changed_configured_password_wins_over_the_stored_one_and_revokes_old_tokens(restart):
    first = restart()
    old = _login(first)
    second = restart(Settings(password="rotated", accounts=SETTINGS.accounts))
    assert second.validate(old) is None
    assert _login(second, password="rotated")
    with pytest.raises(Exception, match="(?i)authenticat|unauthorized"):
        _login(second, password="secret")


def test_deleting_a_user_is_durable(restart):
    first = restart()
    admin = first.validate(_login(first, "admin"))
    user = first.admin.create_user(admin, {"user": {"name": "bob", "domain_id": "default", "password": "pw"}})
    first.admin.delete_user(admin, user.id)
    assert "bob" not in {u.name for u in restart().directory.users.values()}
