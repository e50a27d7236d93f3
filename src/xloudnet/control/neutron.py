"""The Neutron v2.0 request interpreter: URL → service call, envelopes, bulk, fields, paging.

Transport-free on purpose: the HTTP adapter feeds it parsed requests, and what-if analysis feeds
it ``{"method", "path", "body"}`` changes — so both get exactly the same validation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import errors, query
from .context import Context
from .extensions import extension_list
from .messages import Request, Response
from .plane import ControlPlane
from .service import ResourceService, envelope


_Handler = Callable[..., Response]


class NeutronAPI:
    """Dispatches ``Request``s to the plane's services.

    The URL table is built once and shared by every ``for_plane`` copy (what-if builds one per
    fork); a route's handler is bound to this plane's service the first time it is used.
    """

    def __init__(self, plane: ControlPlane, max_limit: int | None = None, routes: list | None = None):
        self.plane = plane
        self.max_limit = max_limit
        self._routes = routes if routes is not None else _build_routes(plane)
        self._bound: dict[tuple[int, str], _Handler] = {}

    def for_plane(self, plane: ControlPlane) -> "NeutronAPI":
        """The same API over another plane of the same services (a fork), sharing the URL table."""
        return NeutronAPI(plane, self.max_limit, self._routes)

    # --- routing --------------------------------------------------------------------------------
    def handle(self, ctx: Context, request: Request) -> Response:
        path = request.path
        if path.endswith(".json"):
            path = path[: -len(".json")]
        if not path.startswith("/v2.0"):
            raise errors.HTTPNotFound()
        rest = path[len("/v2.0") :].strip("/")
        if rest == "":
            return self._resources_doc(request)
        if rest == "extensions" or rest.startswith("extensions/"):
            return self._extensions(request, rest)
        for number, (pattern, methods, collection) in enumerate(self._routes):
            match = pattern.fullmatch(rest)
            if match is None:
                continue
            factory = methods.get(request.method)
            if factory is None:
                raise errors.HTTPMethodNotAllowed()
            if request.method == "DELETE" and request.body not in (None, b"", "") \
                    and not getattr(self.plane.services[collection], "delete_takes_body", False):
                raise errors.HTTPBadRequest("Request body is not supported for DELETE")
            handler = self._bound.get((number, request.method))
            if handler is None:
                handler = factory(self, self.plane.services[collection])
                self._bound[(number, request.method)] = handler
            return handler(ctx, request, **match.groupdict())
        raise errors.HTTPNotFound()

    # --- tags sub-API ---------------------------------------------------------------------------
    @staticmethod
    def _tag_handlers(service: ResourceService) -> dict[str, _Handler]:
        def get_all(ctx, req, rid, **parents):
            return Response(200, {"tags": service.get(ctx, rid).get("tags", [])})

        def replace(ctx, req, rid, **parents):
            tags = _tags_body(req.body)
            return Response(200, {"tags": service.set_tags(ctx, rid, tags, replace=True)["tags"]})

        def add(ctx, req, rid, **parents):
            tags = _tags_body(req.body)
            return Response(201, {"tags": service.set_tags(ctx, rid, tags, replace=False)["tags"]})

        def remove_all(ctx, req, rid, **parents):
            service.remove_tags(ctx, rid, None)
            return Response(204)

        def check_one(ctx, req, rid, tag, **parents):
            if tag not in service.get(ctx, rid).get("tags", []):
                raise errors.TagNotFound(tag=tag)
            return Response(204)

        def add_one(ctx, req, rid, tag, **parents):
            service.set_tags(ctx, rid, [tag], replace=False)
            return Response(201)

        def remove_one(ctx, req, rid, tag, **parents):
            service.remove_tags(ctx, rid, tag)
            return Response(204)

        return {"GET": get_all, "PUT": replace, "POST": add, "DELETE": remove_all,
                "GET one": check_one, "PUT one": add_one, "DELETE one": remove_one}

    # --- standard handlers -----------------------------------------------------------------------
    def _list_handler(self, service: ResourceService) -> _Handler:
        definition = service.definition

        def handle(ctx: Context, req: Request, **parents) -> Response:
            q = query.parse(req.query, definition, service.special_filters, self.max_limit)
            records = service.list(ctx, q, **parents) if parents else service.list(ctx, q)
            body = {definition.plural: service.present_many(ctx, records, q.fields)}
            if q.paging:
                url = req.base_url + "/v2.0/" + req.path.split("/v2.0/", 1)[-1].strip("/")
                body[f"{definition.plural}_links"] = query.page_links(url, req.query, definition.plural, records, q)
            return Response(200, body)

        return handle

    def _show_handler(self, service: ResourceService) -> _Handler:
        def handle(ctx: Context, req: Request, rid: str, **parents) -> Response:
            fields = [v for k, v in req.query if k == "fields" and v]
            record = service.get(ctx, rid, **parents) if parents else service.get(ctx, rid)
            return Response(200, {service.definition.singular: service.present(ctx, record, fields)})

        return handle

    def _create_handler(self, service: ResourceService) -> _Handler:
        definition = service.definition

        def handle(ctx: Context, req: Request, **parents) -> Response:
            body = req.body
            if not isinstance(body, dict):
                raise errors.HTTPBadRequest("Body contains invalid data")
            if definition.plural in body and definition.plural != definition.singular:
                items = body[definition.plural]
                if not isinstance(items, list):
                    raise errors.HTTPBadRequest("Body contains invalid data")
                if not items:
                    raise errors.HTTPBadRequest("Resources required")
                bodies = [_unwrap(i, definition.singular) for i in items]
                service.before_bulk_create(ctx, bodies)
                with self.plane.store.transaction():
                    created = [service.create(ctx, body, **parents) for body in bodies]
                    service.after_bulk_create(ctx, created)
                return Response(201, {definition.plural: [service.present(ctx, r) for r in created]})
            item = envelope(body, definition.singular)
            record = service.create(ctx, item, **parents)
            return Response(201, {definition.singular: service.present(ctx, record)})

        return handle

    def _update_handler(self, service: ResourceService) -> _Handler:
        def handle(ctx: Context, req: Request, rid: str, **parents) -> Response:
            item = envelope(req.body, service.definition.singular)
            record = service.update(ctx, rid, item, if_match=req.if_match, **parents)
            return Response(200, {service.definition.singular: service.present(ctx, record)})

        return handle

    def _delete_handler(self, service: ResourceService) -> _Handler:
        def handle(ctx: Context, req: Request, rid: str, **parents) -> Response:
            service.delete(ctx, rid, if_match=req.if_match, **parents)
            return Response(204)

        return handle

    @staticmethod
    def _action_handler(method: Callable) -> _Handler:
        def handle(ctx: Context, req: Request, rid: str, **parents) -> Response:
            if not isinstance(req.body, dict):
                raise errors.HTTPBadRequest("Body contains invalid data")
            return Response(200, method(ctx, rid, req.body))

        return handle

    # --- documents ------------------------------------------------------------------------------
    def _resources_doc(self, req: Request) -> Response:
        if req.method != "GET":
            raise errors.HTTPMethodNotAllowed()
        resources = [
            {"name": name, "collection": coll, "links": [{"rel": "self", "href": f"{req.base_url}/v2.0/{coll}"}]}
            for name, coll in (("subnet", "subnets"), ("network", "networks"), ("port", "ports"))
        ]
        return Response(200, {"resources": resources})

    def _extensions(self, req: Request, rest: str) -> Response:
        if req.method != "GET":
            raise errors.HTTPMethodNotAllowed()
        extensions = extension_list(self.plane)
        if rest == "extensions":
            return Response(200, {"extensions": extensions})
        alias = rest.split("/", 1)[1]
        for extension in extensions:
            if extension["alias"] == alias:
                return Response(200, {"extension": extension})
        raise errors.ExtensionNotFound(extension_alias=alias)


def _build_routes(plane: ControlPlane) -> list:
    """``[(pattern, {method: factory(api, service) -> handler}, collection)]``, longest first."""
    routes: list = []
    for service in plane.services.values():
        routes.extend(_service_routes(service))
    routes.sort(key=lambda r: -len(r[0].pattern))
    return routes


def _service_routes(service: ResourceService) -> list:
    collection = service.definition.collection
    base = _pattern(collection)
    routes = []
    extra = getattr(service, "routes", None)
    if extra is not None:
        for suffix, methods in extra().items():
            # Custom handlers come from the service itself: asked for again on each plane.
            factories = {m: _custom_factory(suffix, m) for m in methods}
            routes.append((re.compile(base + suffix), factories, collection))
        if getattr(service, "custom_routes_only", False):
            return routes
    routes.append((re.compile(base), {
        "GET": lambda api, s: api._list_handler(s),
        "POST": lambda api, s: api._create_handler(s),
    }, collection))
    routes.append((re.compile(base + r"/(?P<rid>[^/]+)"), {
        "GET": lambda api, s: api._show_handler(s),
        "PUT": lambda api, s: api._update_handler(s),
        "DELETE": lambda api, s: api._delete_handler(s),
    }, collection))
    if service.definition.tags:
        # The tag extension may name a parent by another path (QoS policies: /v2.0/policies).
        for parent in (base, *(_pattern(c) for c in getattr(service, "tag_collections", ()))):
            tags = parent + r"/(?P<rid>[^/]+)/tags"
            routes.append((re.compile(tags), {m: _tag_factory(m) for m in ("GET", "PUT", "POST", "DELETE")}, collection))
            one = {m: _tag_factory(f"{m} one") for m in ("GET", "PUT", "DELETE")}
            routes.append((re.compile(tags + r"/(?P<tag>[^/]+)"), one, collection))
    for action, method_name in service.member_actions.items():
        factory = _action_factory(method_name)
        routes.append((re.compile(base + rf"/(?P<rid>[^/]+)/{action}"), {"PUT": factory}, collection))
    return routes


def _custom_factory(suffix: str, method: str):
    return lambda api, service: service.routes()[suffix][method]


def _tag_factory(kind: str):
    return lambda api, service: NeutronAPI._tag_handlers(service)[kind]


def _action_factory(method_name: str):
    return lambda api, service: NeutronAPI._action_handler(getattr(service, method_name))


def _pattern(collection: str) -> str:
    """``qos/policies/{policy_id}/x`` → a regex with named groups for the parents."""
    return re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", collection)




def _unwrap(item: Any, key: str) -> Any:
    if isinstance(item, dict) and len(item) == 1 and key in item:
        return item[key]
    return item


def _tags_body(body: Any) -> list:
    if not isinstance(body, dict) or "tags" not in body:
        raise errors.HTTPBadRequest("Invalid input for tags. Reason: a 'tags' list is required.")
    return body["tags"]
