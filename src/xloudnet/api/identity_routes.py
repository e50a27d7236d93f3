"""HTTP adapter for the identity service: Keystone v3 URLs, bodies and status codes.

``build_identity_router`` returns a router to mount under ``/identity``. Every handler reads
the raw request itself (no FastAPI body or query models), so hostile input reaches the
identity checks and comes back as a Keystone ``{"error": ...}`` body, never as a 422 or 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match

from xloudnet.identity import views
from xloudnet.identity.catalog import default_catalog
from xloudnet.identity.errors import (
    Forbidden,
    IdentityError,
    MethodNotAllowed,
    NotFound,
    RequestTooLarge,
    Unauthorized,
    ValidationError,
)
from xloudnet.identity.schema import query_flag
from xloudnet.identity.service import IdentityService
from xloudnet.identity.tokens import TokenInfo
from xloudnet.settings import Settings

from .urls import public_root

IDENTITY_PREFIX = "/identity"
V3_ID = "v3.14"
V3_MEDIA_TYPE = "application/vnd.openstack.identity-v3+json"

Catalog = Callable[[Request], list[dict]]
Handler = Callable[["Call"], Response]


# -- helpers the networking API reuses ------------------------------------------------------


def base_url(request: Request, settings: Settings) -> str:
    """The public root of all services: ``settings.public_url``, else scheme + Host."""
    return public_root(request.scope, settings.public_url)


def identity_url(request: Request, settings: Settings) -> str:
    """The unversioned identity root, as published in the catalog and WWW-Authenticate."""
    return base_url(request, settings) + IDENTITY_PREFIX


def error_response(request: Request, settings: Settings, error: IdentityError) -> JSONResponse:
    """A Keystone error body; 401s also say where to authenticate."""
    headers = {}
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = f'Keystone uri="{identity_url(request, settings)}"'
    return JSONResponse(error.to_body(), status_code=error.http_status, headers=headers)


def auth_error_response(request: Request, settings: Settings) -> JSONResponse:
    """The 401 for a request without a valid ``X-Auth-Token`` (what keystonemiddleware says)."""
    return error_response(request, settings, Unauthorized())


def version_document(identity_root: str) -> dict:
    """The v3 entry of Keystone's version documents."""
    return {
        "id": V3_ID,
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": f"{identity_root}/v3/"}],
        "media-types": [{"base": "application/json", "type": V3_MEDIA_TYPE}],
    }


# -- request plumbing -----------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """What a handler gets: the request, the caller's token (None on open routes), the
    parsed JSON body (None when the route takes none) and the URLs to build links from."""

    request: Request
    caller: TokenInfo | None
    body: object
    base: str

    @property
    def v3(self) -> str:
        return f"{self.base}{IDENTITY_PREFIX}/v3"

    @property
    def self_url(self) -> str:
        query = self.request.url.query
        return f"{self.base}{self.request.url.path}" + (f"?{query}" if query else "")

    @property
    def query(self) -> dict[str, str]:
        return dict(self.request.query_params)

    def path(self, name: str) -> str:
        return self.request.path_params[name]


async def read_json(request: Request, limit: int) -> object:
    """The JSON body, refusing more than ``limit`` bytes before reading them all."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge()
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise ValidationError("Expecting a JSON body in the request.")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ValidationError("The request body is not valid JSON.") from None


def _json(body: dict, status: int = 200, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def _no_content() -> Response:
    return Response(status_code=204)


# -- the router -----------------------------------------------------------------------------


def build_identity_router(
    identity: IdentityService, settings: Settings, catalog: Catalog | None = None
) -> APIRouter:
    """The Keystone v3 subset as a router; mount it with ``prefix="/identity"``.

    ``catalog`` builds the service catalog put into scoped tokens from the request; by
    default identity, network and network-simulation under the request's base URL.
    """
    return _IdentityRoutes(identity, settings, catalog).router


class _IdentityRoutes:
    """The route table and its handlers; each handler takes a ``Call`` and returns a
    response, and runs in the thread pool with identity errors turned into Keystone bodies."""

    def __init__(self, identity: IdentityService, settings: Settings, catalog: Catalog | None):
        self.identity = identity
        self.admin = identity.admin
        self.settings = settings
        self.catalog = catalog or (
            lambda request: default_catalog(base_url(request, settings), settings.region)
        )
        self.router = APIRouter()
        self._add_discovery_routes()
        self._add_token_routes()
        for plural, singular, view in (
            ("domains", "domain", views.domain_view),
            ("projects", "project", views.project_view),
            ("users", "user", views.user_view),
            ("roles", "role", views.role_view),
        ):
            self._add_crud_routes(plural, singular, view)
        self._add_grant_routes()
        self._add_misc_routes()
        self._add("/{rest:path}", self._unknown_url, _ALL_METHODS, auth=False)
        # Lets _unknown_url tell itself apart from the real routes once mounted.
        self.router.routes[-1].endpoint.catch_all = True

    def _add(self, path: str, handler: Handler, methods: list[str], auth=True, body=False) -> None:
        self.router.add_api_route(
            path,
            self._endpoint(handler, auth, body),
            methods=methods,
            name=f"identity_{handler.__name__}_{'_'.join(methods).lower()}",
            include_in_schema=path != "/{rest:path}",
        )

    def _endpoint(
        self, handler: Handler, auth: bool, body: bool
    ) -> Callable[[Request], Awaitable[Response]]:
        settings = self.settings

        async def endpoint(request: Request) -> Response:
            try:
                caller = None
                if auth:  # before reading the body: strangers get a 401, not a parser
                    caller = self.identity.validate(request.headers.get("x-auth-token"))
                    if caller is None:
                        return auth_error_response(request, settings)
                payload = await read_json(request, settings.max_body_bytes) if body else None
                call = Call(request, caller, payload, base_url(request, settings))
                # Handlers may hash passwords: keep them off the event loop.
                return await run_in_threadpool(handler, call)
            except IdentityError as error:
                return error_response(request, settings, error)

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    # -- version discovery and tokens -----------------------------------------------------

    def _add_discovery_routes(self) -> None:
        for path in ("", "/"):
            self._add(path, self._versions, ["GET"], auth=False)
        for path in ("/v3", "/v3/"):
            self._add(path, self._version, ["GET"], auth=False)

    def _versions(self, call: Call) -> Response:
        """Identity API versions (300 Multiple Choices, as Keystone answers)."""
        doc = version_document(call.base + IDENTITY_PREFIX)
        return _json({"versions": {"values": [doc]}}, status=300)

    def _version(self, call: Call) -> Response:
        """The v3 version document."""
        return _json({"version": version_document(call.base + IDENTITY_PREFIX)})

    def _add_token_routes(self) -> None:
        self._add("/v3/auth/tokens", self._issue_token, ["POST"], auth=False, body=True)
        self._add("/v3/auth/tokens", self._show_token, ["GET"])
        self._add("/v3/auth/tokens", self._check_token, ["HEAD"])
        self._add("/v3/auth/tokens", self._revoke_token, ["DELETE"])
        self._add("/v3/auth/catalog", self._auth_catalog, ["GET"])
        self._add("/v3/auth/projects", self._auth_projects, ["GET"])
        self._add("/v3/auth/domains", self._auth_domains, ["GET"])

    def _catalog_unless_asked_not(self, call: Call) -> list[dict] | None:
        if "nocatalog" in call.request.query_params:
            return None
        return self.catalog(call.request)

    def _issue_token(self, call: Call) -> Response:
        """Log in (password, token or application credential) and get a token."""
        token_id, body = self.identity.issue_token(call.body, self._catalog_unless_asked_not(call))
        return _json(body, status=201, headers={"X-Subject-Token": token_id})

    def _subject(self, call: Call) -> TokenInfo:
        return self.identity.inspect(call.caller, call.request.headers.get("x-subject-token"))

    def _show_token(self, call: Call) -> Response:
        """Validate the X-Subject-Token and show its body."""
        subject = self._subject(call)
        body = self.identity.token_document(subject, self._catalog_unless_asked_not(call))
        return _json(body, headers={"X-Subject-Token": subject.token_id})

    def _check_token(self, call: Call) -> Response:
        """Validate the X-Subject-Token, without a body."""
        subject = self._subject(call)
        return Response(status_code=200, headers={"X-Subject-Token": subject.token_id})

    def _revoke_token(self, call: Call) -> Response:
        """Revoke the X-Subject-Token."""
        self.identity.revoke(self._subject(call).token_id)
        return _no_content()

    def _auth_catalog(self, call: Call) -> Response:
        """The service catalog of the caller's token."""
        if call.caller.scope == "unscoped":
            raise Forbidden("An unscoped token has no service catalog.")
        return _json(views.collection("catalog", self.catalog(call.request), call.self_url))

    def _auth_projects(self, call: Call) -> Response:
        """Projects the caller's user can scope a token to."""
        projects = self.admin.auth_projects(call.caller)
        items = [views.project_view(p, call.v3) for p in projects]
        return _json(views.collection("projects", items, call.self_url))

    def _auth_domains(self, call: Call) -> Response:
        """Domains the caller's user can scope a token to."""
        domains = self.admin.auth_domains(call.caller)
        items = [views.domain_view(d, call.v3) for d in domains]
        return _json(views.collection("domains", items, call.self_url))

    # -- domains, projects, users, roles --------------------------------------------------

    def _add_crud_routes(self, plural: str, singular: str, view: Callable) -> None:
        """List/create on the collection, show/update/delete on one member."""
        admin = self.admin
        key = f"{singular}_id"

        def list_(call: Call) -> Response:
            items = getattr(admin, f"list_{plural}")(call.caller, call.query)
            return _json(views.collection(plural, [view(i, call.v3) for i in items], call.self_url))

        def create(call: Call) -> Response:
            record = getattr(admin, f"create_{singular}")(call.caller, call.body)
            return _json({singular: view(record, call.v3)}, status=201)

        def show(call: Call) -> Response:
            record = getattr(admin, f"get_{singular}")(call.caller, call.path(key))
            return _json({singular: view(record, call.v3)})

        def update(call: Call) -> Response:
            record = getattr(admin, f"update_{singular}")(call.caller, call.path(key), call.body)
            return _json({singular: view(record, call.v3)})

        def delete(call: Call) -> Response:
            getattr(admin, f"delete_{singular}")(call.caller, call.path(key))
            return _no_content()

        for handler, verb in (
            (list_, "list"),
            (create, "create"),
            (show, "show"),
            (update, "update"),
            (delete, "delete"),
        ):
            handler.__name__ = f"{verb}_{plural if verb == 'list' else singular}"
        collection, member = f"/v3/{plural}", f"/v3/{plural}/{{{key}}}"
        self._add(collection, list_, ["GET"])
        self._add(collection, create, ["POST"], body=True)
        self._add(member, show, ["GET"])
        self._add(member, update, ["PATCH"], body=True)
        self._add(member, delete, ["DELETE"])

    # -- role grants and assignments ------------------------------------------------------

    def _add_grant_routes(self) -> None:
        for kind in ("project", "domain"):
            grants = f"/v3/{kind}s/{{scope_id}}/users/{{user_id}}/roles"
            self._add(grants, self._grants_handler(kind, "list"), ["GET"])
            for verb, method in (("grant", "PUT"), ("check", "HEAD"), ("revoke", "DELETE")):
                self._add(grants + "/{role_id}", self._grants_handler(kind, verb), [method])
        self._add("/v3/role_assignments", self._role_assignments, ["GET"])

    def _grants_handler(self, kind: str, verb: str) -> Handler:
        admin = self.admin

        def handler(call: Call) -> Response:
            scope_id, user_id = call.path("scope_id"), call.path("user_id")
            if verb == "list":
                roles = admin.list_grants(call.caller, kind, scope_id, user_id)
                items = [views.role_view(r, call.v3) for r in roles]
                return _json(views.collection("roles", items, call.self_url))
            action = {
                "grant": admin.grant,
                "check": admin.check_grant,
                "revoke": admin.revoke_grant,
            }
            action[verb](call.caller, kind, scope_id, user_id, call.path("role_id"))
            return _no_content()

        handler.__name__ = f"{verb}_{kind}_user_roles"
        return handler

    def _role_assignments(self, call: Call) -> Response:
        """Role assignments, filtered by user.id / scope.project.id / role.id; ``effective``
        adds implied roles, ``include_names`` adds names."""
        rows = self.admin.list_role_assignments(call.caller, call.query)
        names = "include_names" in call.query and query_flag(call.query["include_names"] or "true")
        directory = self.identity.directory
        items = [views.assignment_view(a, prior, directory, call.v3, names) for a, prior in rows]
        return _json(views.collection("role_assignments", items, call.self_url))

    # -- the rest -------------------------------------------------------------------------

    def _add_misc_routes(self) -> None:
        self._add("/v3/users/{user_id}/projects", self._user_projects, ["GET"])
        self._add("/v3/users/{user_id}/password", self._change_password, ["POST"], body=True)
        creds = "/v3/users/{user_id}/application_credentials"
        self._add(creds, self._list_app_credentials, ["GET"])
        self._add(creds, self._create_app_credential, ["POST"], body=True)
        self._add(creds + "/{cred_id}", self._show_app_credential, ["GET"])
        self._add(creds + "/{cred_id}", self._delete_app_credential, ["DELETE"])

    def _user_projects(self, call: Call) -> Response:
        """Projects where the user holds a role."""
        projects = self.admin.list_user_projects(call.caller, call.path("user_id"))
        items = [views.project_view(p, call.v3) for p in projects]
        return _json(views.collection("projects", items, call.self_url))

    def _change_password(self, call: Call) -> Response:
        """Change one's own password (revokes the user's tokens)."""
        self.admin.change_password(call.caller, call.path("user_id"), call.body)
        return _no_content()

    def _list_app_credentials(self, call: Call) -> Response:
        creds = self.identity.app_credentials.list(
            call.caller, call.path("user_id"), call.query.get("name")
        )
        items = [self._cred_view(c, call) for c in creds]
        return _json(views.collection("application_credentials", items, call.self_url))

    def _create_app_credential(self, call: Call) -> Response:
        cred, secret = self.identity.app_credentials.create(
            call.caller, call.path("user_id"), call.body
        )
        body = {**self._cred_view(cred, call), "secret": secret}
        return _json({"application_credential": body}, status=201)

    def _show_app_credential(self, call: Call) -> Response:
        cred = self.identity.app_credentials.get(
            call.caller, call.path("user_id"), call.path("cred_id")
        )
        return _json({"application_credential": self._cred_view(cred, call)})

    def _delete_app_credential(self, call: Call) -> Response:
        self.identity.app_credentials.delete(
            call.caller, call.path("user_id"), call.path("cred_id")
        )
        return _no_content()

    def _cred_view(self, cred, call: Call) -> dict:
        return views.app_credential_view(cred, self.identity.directory, call.v3)

    def _unknown_url(self, call: Call) -> Response:
        """404 for unknown identity URLs, 405 for a known URL with the wrong method, and a
        redirect for a known URL written with a trailing slash. Matching is done against
        this router's own routes (paths relative to /identity), whatever app mounts it."""
        request = call.request
        routes = [r for r in self.router.routes if not getattr(r.endpoint, "catch_all", False)]
        relative = "/" + call.path("rest")
        here = {**request.scope, "path": relative, "root_path": ""}
        if any(route.matches(here)[0] is Match.PARTIAL for route in routes):
            raise MethodNotAllowed()
        if relative.endswith("/") and relative != "/":
            stripped = {**here, "path": relative.rstrip("/")}
            if any(route.matches(stripped)[0] is not Match.NONE for route in routes):
                url = request.url.replace(path=request.url.path.rstrip("/"))
                return RedirectResponse(str(url), status_code=307)
        raise NotFound()


_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
