"""``IdentityService``: the Keystone v3 subset xloudnet serves — logins, tokens, and (through
``.admin`` and ``.app_credentials``) the admin API. No HTTP here."""

from __future__ import annotations

import copy
import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from xloudnet.identity.admin import IdentityAdmin
from xloudnet.identity.appcreds import AppCredentials
from xloudnet.identity.auth import AuthRequest, Scope, parse_auth
from xloudnet.identity.directory import Directory
from xloudnet.identity.errors import Forbidden, NotFound, Unauthorized
from xloudnet.identity.persistence import FlushingLock, IdentityJournal, StateSpace
from xloudnet.identity.passwords import MAX_PASSWORD_LENGTH, hash_password, verify_password
from xloudnet.identity.records import DEFAULT_DOMAIN_ID, AppCredential, Domain, Project, Role, User
from xloudnet.identity.tokens import TokenInfo, TokenStore, as_utc, format_time
from xloudnet.settings import Account, Settings


@dataclass(frozen=True)
class _Login:
    """Who authenticated: the user, the token renewed (if any), the credential used (if any)."""

    user: User
    parent: TokenInfo | None = None
    cred: AppCredential | None = None


@dataclass(frozen=True)
class _Grant:
    """What the new token is scoped to, and the role ids (implied roles included) it carries."""

    project: Project | None = None
    domain: Domain | None = None
    role_ids: frozenset[str] | set[str] = frozenset()


# Fernet tokens start like this; a few clients and log scrubbers look for the prefix.
TOKEN_PREFIX = "gAAAAAB"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def new_hex_id() -> str:
    return uuid.uuid4().hex


class IdentityService:
    """Projects, users, roles and tokens of one xloudnet server.

    At construction it creates the accounts of ``settings.accounts`` the devstack way: a
    project and a user of the same name in domain ``default``, the user holding the
    account's role on that project.
    """

    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = new_hex_id,
        new_secret: Callable[[int], str] = secrets.token_urlsafe,
        state: StateSpace | None = None,
    ):
        self.settings = settings
        self._clock = clock
        self._new_secret = new_secret
        # With a state log, leaving the lock writes what changed under it (see persistence).
        self._lock = threading.RLock() if state is None else FlushingLock()
        self.directory = Directory(new_id)
        self.tokens = TokenStore(self.now)
        self.app_credentials = AppCredentials(self.directory, self.now, new_id, new_secret, self._lock)
        self.admin = IdentityAdmin(self.directory, self.tokens, self.app_credentials, self._lock)
        with self._lock:
            if state is not None:
                journal = IdentityJournal(state, self.directory, self.app_credentials, self.tokens, self.now)
                journal.restore()
                self._lock.flush = journal.flush
            for account in settings.accounts:
                self._create_account(account)

    def now(self) -> datetime:
        return as_utc(self._clock())

    # -- tokens -------------------------------------------------------------------------------

    def issue_token(self, auth_body: object, catalog: list[dict] | None = None) -> tuple[str, dict]:
        """``POST /v3/auth/tokens``: check the credentials, resolve the scope, mint a token.

        Returns the token id (for ``X-Subject-Token``) and the ``{"token": ...}`` body, with
        ``catalog`` included when the token is scoped and a catalog is given.
        """
        request = parse_auth(auth_body)
        with self._lock:
            login = self._authenticate(request)
            grant = self._resolve_scope(request.scope, login)
            info, body = self._mint(request, login, grant)
            self.tokens.add(info, body)
        return info.token_id, self._document(body, catalog)

    def validate(self, token_id: str | None) -> TokenInfo | None:
        """The info of a live token, or None. Called on every API request: one dict lookup
        and one time comparison."""
        return self.tokens.validate(token_id)

    def inspect(self, caller: TokenInfo, subject_id: str | None) -> TokenInfo:
        """The subject token of ``GET/HEAD/DELETE /v3/auth/tokens``: 404 when it is not live;
        only admins may look at other users' tokens."""
        subject = self.tokens.validate(subject_id)
        if subject is None:
            raise NotFound.for_kind("token", "the subject token")
        if not caller.is_admin and caller.user_id != subject.user_id:
            raise Forbidden.for_action("validate_token")
        return subject

    def token_document(self, subject: TokenInfo, catalog: list[dict] | None = None) -> dict:
        """The ``{"token": ...}`` body of a live token, as it was issued."""
        body = self.tokens.body(subject.token_id)
        if body is None:
            raise NotFound.for_kind("token", "the subject token")
        return self._document(body, catalog)

    def revoke(self, token_id: str) -> None:
        """Revoke one token; unknown ids are ignored (revocation is idempotent)."""
        with self._lock:
            self.tokens.revoke(token_id)

    @staticmethod
    def _document(body: dict, catalog: list[dict] | None) -> dict:
        """A copy of the stored body (callers may change theirs), with the catalog if scoped."""
        document = {"token": copy.deepcopy(body)}
        if catalog is not None and ("project" in body or "domain" in body):
            document["token"]["catalog"] = catalog
        return document

    # -- authentication -----------------------------------------------------------------------

    def _authenticate(self, request: AuthRequest) -> _Login:
        """The user every method names (they must agree), the token being renewed/rescoped,
        and the application credential used, if any."""
        users: list[User] = []
        parent = cred = None
        if request.password is not None:
            users.append(self._check_password(request.password.user, request.password.password))
        if request.token_id is not None:
            parent = self.tokens.validate(request.token_id)
            if parent is None:
                raise Unauthorized("The token used to authenticate is not valid or has expired.")
            if parent.application_credential_id is not None:
                raise Unauthorized("A token from an application credential cannot be rescoped.")
            users.append(self._usable_user(self.directory.users.get(parent.user_id)))
        if request.app_credential is not None:
            cred = self.app_credentials.authenticate(request.app_credential)
            users.append(self._usable_user(self.directory.users.get(cred.user_id)))
        if len({u.id for u in users}) != 1:
            raise Unauthorized("The authentication methods identify different users.")
        return _Login(users[0], parent, cred)

    def _check_password(self, ref, password: str | None) -> User:
        user = self.directory.find_user(ref)
        too_long = password is not None and len(password) > MAX_PASSWORD_LENGTH
        stored = user.password_hash if user is not None else None
        if password is None or too_long or not verify_password(password, stored):
            raise Unauthorized()
        return self._usable_user(user)

    def _usable_user(self, user: User | None) -> User:
        if user is None or not user.enabled or not self._domain_enabled(user.domain_id):
            raise Unauthorized()
        return user

    def _domain_enabled(self, domain_id: str) -> bool:
        domain = self.directory.domains.get(domain_id)
        return domain is not None and domain.enabled

    # -- scope --------------------------------------------------------------------------------

    def _resolve_scope(self, scope: Scope, login: _Login) -> _Grant:
        """The project or domain of the new token and the (expanded) role ids it carries."""
        user = login.user
        if login.cred is not None:
            return self._credential_scope(scope, user, login.cred)
        if scope.kind == "project":
            return self._project_scope(self.directory.find_project(scope.project), user)
        if scope.kind == "domain":
            return self._domain_scope(self.directory.find_domain(scope.domain), user)
        if scope.kind == "default" and user.default_project_id is not None:
            project = self.directory.projects.get(user.default_project_id)
            if project is not None and project.enabled and self._project_roles(user, project):
                return self._project_scope(project, user)
        return _Grant()

    def _project_scope(self, project: Project | None, user: User) -> _Grant:
        if project is None or not project.enabled or not self._domain_enabled(project.domain_id):
            raise Unauthorized()
        roles = self._project_roles(user, project)
        if not roles:
            raise Unauthorized(f"User {user.id} has no access to project {project.id}.")
        return _Grant(project=project, role_ids=roles)

    def _domain_scope(self, domain: Domain | None, user: User) -> _Grant:
        if domain is None or not domain.enabled:
            raise Unauthorized()
        roles = self.directory.expand(self.directory.direct_role_ids(user.id, "domain", domain.id))
        if not roles:
            raise Unauthorized(f"User {user.id} has no access to domain {domain.id}.")
        return _Grant(domain=domain, role_ids=roles)

    def _credential_scope(self, scope: Scope, user: User, cred: AppCredential) -> _Grant:
        """An application credential always scopes to its own project, with its roles
        minus any the user has lost since."""
        grant = self._project_scope(self.directory.projects.get(cred.project_id), user)
        asked = self.directory.find_project(scope.project) if scope.kind == "project" else None
        if scope.kind in ("domain", "unscoped") or (
            scope.kind == "project" and (asked is None or asked.id != grant.project.id)
        ):
            raise Unauthorized("An application credential token is scoped to its own project.")
        roles = self.directory.expand(r for r in cred.role_ids if r in grant.role_ids)
        if not roles:
            raise Unauthorized()
        return _Grant(project=grant.project, role_ids=roles)

    def _project_roles(self, user: User, project: Project) -> set[str]:
        return self.directory.expand(self.directory.direct_role_ids(user.id, "project", project.id))

    # -- minting ------------------------------------------------------------------------------

    def _mint(self, request: AuthRequest, login: _Login, grant: _Grant) -> tuple[TokenInfo, dict]:
        """The new token's info and its rendered body (without catalog)."""
        user, parent, cred, project = login.user, login.parent, login.cred, grant.project
        now = self.now()
        expires = now + timedelta(seconds=self.settings.token_ttl_seconds)
        if parent is not None:  # renewing never extends a token's life
            expires = min(expires, parent.expires_at)
        if cred is not None and cred.expires_at is not None:
            expires = min(expires, cred.expires_at)
        methods = request.methods + (parent.methods if parent else ())
        roles = sorted((self.directory.roles[r] for r in grant.role_ids), key=lambda r: r.name)
        info = TokenInfo(
            token_id=TOKEN_PREFIX + self._new_secret(64),
            user_id=user.id,
            user_name=user.name,
            project_id=project.id if project else None,
            project_name=project.name if project else None,
            roles=frozenset(r.name for r in roles),
            expires_at=expires,
            domain_id=project.domain_id if project else (grant.domain.id if grant.domain else None),
            user_domain_id=user.domain_id,
            issued_at=now,
            methods=tuple(dict.fromkeys(methods)),
            # A renewed token also names the chain it came from, as Keystone's audit ids do.
            audit_ids=(self._new_secret(16),) + (parent.audit_ids[-1:] if parent else ()),
            application_credential_id=cred.id if cred else None,
            restricted=cred is not None and not cred.unrestricted,
        )
        return info, self._render(info, login, grant, roles)

    def _render(self, info: TokenInfo, login: _Login, grant: _Grant, roles: list[Role]) -> dict:
        """The token body Keystone returns (§8.2), minus the catalog."""
        user, cred = login.user, login.cred
        body = {
            "methods": list(info.methods),
            "user": {
                "id": user.id,
                "name": user.name,
                "domain": self._domain_ref(user.domain_id),
                "password_expires_at": None,
            },
            "audit_ids": list(info.audit_ids),
            "expires_at": format_time(info.expires_at),
            "issued_at": format_time(info.issued_at),
        }
        if grant.project is not None:
            body["project"] = {
                "id": grant.project.id,
                "name": grant.project.name,
                "domain": self._domain_ref(grant.project.domain_id),
            }
            body["is_domain"] = False
        if grant.domain is not None:
            body["domain"] = {"id": grant.domain.id, "name": grant.domain.name}
        if info.scope != "unscoped":
            body["roles"] = [{"id": r.id, "name": r.name} for r in roles]
        if cred is not None:
            body["application_credential"] = {
                "id": cred.id,
                "name": cred.name,
                "restricted": not cred.unrestricted,
            }
        return body

    def _domain_ref(self, domain_id: str) -> dict:
        return {"id": domain_id, "name": self.directory.domain(domain_id).name}

    # -- start-up accounts --------------------------------------------------------------------

    def _create_account(self, account: Account) -> None:
        d = self.directory
        project_name = account.project or account.name
        project = d.project_named(project_name, DEFAULT_DOMAIN_ID) or d.add_project(
            project_name, DEFAULT_DOMAIN_ID, description=f"Project {project_name}"
        )
        role = d.role_named(account.role) or d.add_role(account.role)
        password = account.password or self.settings.password
        user = d.user_named(account.name, DEFAULT_DOMAIN_ID)
        if user is None:
            user = d.add_user(account.name, DEFAULT_DOMAIN_ID, password_hash=hash_password(password))
        elif not verify_password(password, user.password_hash):
            # Restored from a state directory: the configured password wins (as keystone-manage
            # bootstrap does), so changing it in the configuration locks the old one out.
            d.update(user, password_hash=hash_password(password))
            self.tokens.revoke_where(lambda t: t.user_id == user.id)
        d.grant(user.id, "project", project.id, role.id)
