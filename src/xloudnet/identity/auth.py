"""Reading a ``POST /v3/auth/tokens`` body into an ``AuthRequest``.

Shape problems (wrong types, missing parts) are ``ValidationError`` (400); anything that is
well-formed but cannot be honoured (an unknown method, an unsupported scope) is
``Unauthorized`` (401), as in Keystone.
"""

from __future__ import annotations

from dataclasses import dataclass

from xloudnet.identity.errors import Unauthorized, ValidationError

SUPPORTED_METHODS = ("password", "token", "application_credential")


@dataclass(frozen=True)
class DomainRef:
    id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class NamedRef:
    """A user or project named by id, or by name within a domain."""

    id: str | None = None
    name: str | None = None
    domain: DomainRef | None = None


@dataclass(frozen=True)
class Scope:
    """``kind``: "project", "domain", "unscoped" (asked for explicitly) or "default" (no
    scope given: the user's default project if usable, else unscoped)."""

    kind: str
    project: NamedRef | None = None
    domain: DomainRef | None = None


@dataclass(frozen=True)
class PasswordAuth:
    user: NamedRef
    password: str | None


@dataclass(frozen=True)
class AppCredentialAuth:
    id: str | None
    name: str | None
    secret: str
    user: NamedRef | None


@dataclass(frozen=True)
class AuthRequest:
    methods: tuple[str, ...]
    scope: Scope
    password: PasswordAuth | None = None
    token_id: str | None = None
    app_credential: AppCredentialAuth | None = None


def parse_auth(body: object) -> AuthRequest:
    """Check the body's shape and pull out the credentials and the scope."""
    auth = _object(_object(body, "body").get("auth"), "auth")
    identity = _object(auth.get("identity"), "auth.identity")
    methods = identity.get("methods")
    if not isinstance(methods, list) or not methods or not all(isinstance(m, str) for m in methods):
        raise _invalid("auth.identity.methods", "expected a non-empty list of strings")
    unsupported = [m for m in methods if m not in SUPPORTED_METHODS]
    if unsupported:
        raise Unauthorized("Attempted to authenticate with an unsupported method.")
    for method in methods:
        if method not in identity:
            raise ValidationError(f"Expecting to find {method} in identity.")
    return AuthRequest(
        methods=tuple(dict.fromkeys(methods)),
        scope=_scope(auth.get("scope")),
        password=_password(identity["password"]) if "password" in methods else None,
        token_id=_token(identity["token"]) if "token" in methods else None,
        app_credential=(
            _app_credential(identity["application_credential"])
            if "application_credential" in methods
            else None
        ),
    )


def _password(payload: object) -> PasswordAuth:
    user = _object(_object(payload, "password").get("user"), "password.user")
    ref = _named(user, "password.user", need_domain=True)
    return PasswordAuth(user=ref, password=_string(user, "password", "password.user"))


def _token(payload: object) -> str:
    token_id = _string(_object(payload, "token"), "id", "token")
    if token_id is None:
        raise ValidationError("Expecting to find id in token.")
    return token_id


def _app_credential(payload: object) -> AppCredentialAuth:
    payload = _object(payload, "application_credential")
    where = "application_credential"
    cred_id, name = _string(payload, "id", where), _string(payload, "name", where)
    secret = _string(payload, "secret", where)
    if secret is None:
        raise ValidationError("Expecting to find secret in application_credential.")
    if cred_id is None and name is None:
        raise ValidationError("Expecting to find id or name in application_credential.")
    user = None
    if cred_id is None:
        if "user" not in payload:
            raise ValidationError("Expecting to find user in application_credential.")
        user = _named(payload["user"], f"{where}.user", need_domain=True)
    return AppCredentialAuth(id=cred_id, name=name, secret=secret, user=user)


def _scope(payload: object) -> Scope:
    if payload is None:
        return Scope("default")
    if payload == "unscoped":
        return Scope("unscoped")
    scope = _object(payload, "auth.scope")
    if "system" in scope or "OS-TRUST:trust" in scope:
        raise Unauthorized("Only project and domain scopes are supported.")
    if "project" in scope and "domain" in scope:
        raise ValidationError("Scoping to both domain and project is not allowed.")
    if "project" in scope:
        return Scope("project", project=_named(scope["project"], "scope.project", need_domain=True))
    if "domain" in scope:
        return Scope("domain", domain=_domain(scope["domain"], "scope.domain"))
    return Scope("default")


def _named(payload: object, where: str, need_domain: bool) -> NamedRef:
    """A user/project reference: an id, or a name plus its domain."""
    payload = _object(payload, where)
    ref_id, name = _string(payload, "id", where), _string(payload, "name", where)
    if ref_id is None and name is None:
        raise ValidationError(f"Expecting to find id or name in {where}.")
    domain = None
    if "domain" in payload:
        domain = _domain(payload["domain"], f"{where}.domain")
    elif ref_id is None and need_domain:
        raise ValidationError(f"Expecting to find domain in {where}.")
    return NamedRef(id=ref_id, name=name, domain=domain)


def _domain(payload: object, where: str) -> DomainRef:
    payload = _object(payload, where)
    ref = DomainRef(id=_string(payload, "id", where), name=_string(payload, "name", where))
    if ref.id is None and ref.name is None:
        raise ValidationError(f"Expecting to find id or name in {where}.")
    return ref


def _object(value: object, where: str) -> dict:
    if not isinstance(value, dict):
        raise _invalid(where, "expected an object")
    return value


def _string(payload: dict, key: str, where: str) -> str | None:
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise _invalid(f"{where}.{key}", f"{type(value).__name__} is not of type 'string'")
    return value


def _invalid(field: str, reason: str) -> ValidationError:
    return ValidationError(f"Invalid input for field '{field}': {reason}.")
