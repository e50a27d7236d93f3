"""Application credentials: per-user secrets that log straight into one project with a fixed
subset of roles (what clouds.yaml and terraform setups often use instead of passwords)."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Callable

from xloudnet.identity.auth import AppCredentialAuth
from xloudnet.identity.directory import Directory
from xloudnet.identity.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationError
from xloudnet.identity.passwords import hash_password, verify_password
from xloudnet.identity.records import AppCredential
from xloudnet.identity.schema import FLAG, NAME, TEXT, Field, invalid, read_entity
from xloudnet.identity.tokens import TokenInfo, as_utc

_FIELDS = {
    "name": NAME,
    "description": TEXT,
    "secret": Field("string", nullable=True, min_len=1, max_len=4096),
    "expires_at": Field("string", nullable=True, max_len=64),
    "roles": Field("list", nullable=True),  # items checked by _role_ids
    "unrestricted": FLAG,
    "access_rules": Field("list", nullable=True),
}


class AppCredentials:
    """The application credentials of all users, by id."""

    def __init__(
        self,
        directory: Directory,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
        new_secret: Callable[[int], str],
        lock: "threading.RLock | None" = None,
    ):
        self._directory = directory
        # The identity service's lock: a create checks names and inserts with nothing between.
        self._lock = lock if lock is not None else threading.RLock()
        self._clock = clock
        self._new_id = new_id
        self._new_secret = new_secret
        self._creds: dict[str, AppCredential] = {}

    def create(self, caller: TokenInfo, user_id: str, body: object) -> tuple[AppCredential, str]:
        """A new credential for the caller's own user on the caller's project, and its
        secret in plain text (shown once, never stored)."""
        _own(caller, user_id, "create_application_credential")
        if caller.restricted:
            raise Forbidden("Cannot create an application credential with a restricted token.")
        if caller.project_id is None:
            raise ValidationError("An application credential needs a project-scoped token.")
        known, _ = read_entity(body, "application_credential", _FIELDS, ("name",))
        with self._lock:
            if any(c.user_id == user_id and c.name == known["name"] for c in self._creds.values()):
                raise Conflict(
                    f"Conflict occurred attempting to store application_credential - "
                    f"Duplicate entry found with name {known['name']}."
                )
            secret = known.get("secret") or self._new_secret(48)
            cred = AppCredential(
                id=self._new_id(),
                name=known["name"],
                user_id=user_id,
                project_id=caller.project_id,
                secret_hash=hash_password(secret),
                role_ids=self._role_ids(caller, body["application_credential"].get("roles")),
                description=known.get("description"),
                expires_at=self._expiry(known.get("expires_at")),
                unrestricted=known.get("unrestricted", False),
            )
            self._creds[cred.id] = cred
        return cred, secret

    def list(self, caller: TokenInfo, user_id: str, name: str | None = None) -> list[AppCredential]:
        _own(caller, user_id, "list_application_credentials")
        return [
            c
            for c in self._creds.values()
            if c.user_id == user_id and (name is None or c.name == name)
        ]

    def get(self, caller: TokenInfo, user_id: str, cred_id: str) -> AppCredential:
        _own(caller, user_id, "get_application_credential")
        cred = self._creds.get(cred_id)
        if cred is None or cred.user_id != user_id:
            raise NotFound.for_kind("application credential", cred_id)
        return cred

    def delete(self, caller: TokenInfo, user_id: str, cred_id: str) -> AppCredential:
        with self._lock:
            cred = self.get(caller, user_id, cred_id)
            return self._creds.pop(cred.id)

    def authenticate(self, auth: AppCredentialAuth) -> AppCredential:
        """The credential the secret opens; ``Unauthorized`` for anything wrong."""
        cred = self._find(auth)
        # Verify even when there is no such credential, so both cases take the same time.
        matches = verify_password(auth.secret, cred.secret_hash if cred else None)
        if cred is None or not matches:
            raise Unauthorized()
        if cred.expires_at is not None and cred.expires_at <= self._clock():
            raise Unauthorized("The application credential has expired.")
        return cred

    def all(self) -> list[AppCredential]:
        return list(self._creds.values())

    def restore(self, creds) -> None:
        """Replace every credential with stored ones (a server restarting on its state)."""
        self._creds = {c.id: c for c in creds}

    def forget(self, predicate: Callable[[AppCredential], bool]) -> None:
        """Drop the credentials of deleted users/projects or of lost role assignments."""
        self._creds = {k: c for k, c in self._creds.items() if not predicate(c)}

    def _find(self, auth: AppCredentialAuth) -> AppCredential | None:
        if auth.id is not None:
            return self._creds.get(auth.id)
        user = self._directory.find_user(auth.user)
        if user is None:
            return None
        return next(
            (c for c in self._creds.values() if c.user_id == user.id and c.name == auth.name),
            None,
        )

    def _role_ids(self, caller: TokenInfo, requested: object) -> tuple[str, ...]:
        """Requested roles by id or name; each must be one the caller's token holds."""
        held = {r.id: r for r in self._directory.roles.values() if r.name in caller.roles}
        if requested is None:
            return tuple(sorted(held))
        if not all(isinstance(r, dict) for r in requested):
            raise invalid("application_credential.roles", "expected a list of objects")
        chosen = []
        for ref in requested:
            match = next(
                (r for r in held.values() if r.id == ref.get("id") or r.name == ref.get("name")),
                None,
            )
            if match is None:
                raise Forbidden("Application credential roles must be roles the token holds.")
            chosen.append(match.id)
        return tuple(dict.fromkeys(chosen))

    def _expiry(self, text: str | None) -> datetime | None:
        if text is None:
            return None
        try:
            moment = as_utc(datetime.fromisoformat(text))
        except ValueError:
            raise invalid("application_credential.expires_at", "not an ISO 8601 time") from None
        if moment <= self._clock():
            raise invalid("application_credential.expires_at", "must be in the future")
        return moment


def _own(caller: TokenInfo, user_id: str, action: str) -> None:
    if caller.user_id != user_id and not caller.is_admin:
        raise Forbidden.for_action(action)
