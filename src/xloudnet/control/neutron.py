"""The Neutron v2.0 request interpreter: URL → service call, envelopes, bulk, fields, paging.

Transport-free on purpose: the HTTP adapter feeds it parsed requests, and what-if analysis feeds
it ``{"method", "path", "body"}`` changes — so both get exactly the same validation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import errors, query
from .context import Context
from .extensions import extension_list
from .plane import ControlPlane
from .service import ResourceService, envelope


@dataclass
class Request:
    """One Neutron API call. ``path`` is relative to the networking root (``/v2.0/...``)."""

    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None
    if_match: int | None = None
    base_url: str = ""  # networking root URL, for links


@dataclass
class Response:
    status: int
    body: Any = None


_Handler = Callable[..., Response]


class NeutronAPI:
    """Dispatches ``Request``s to the plane's services."""

    def __init__(self, plane: ControlPlane, max_limit: int | None = None):
        self.plane = plane
        self.max_limit = max_limit
        self._routes: list[tuple[re.Pattern, dict[str, _Handler], ResourceService | None]] = []
        for service in plane.services.values():
            self._add_service_routes(service)
        self._routes.sort(key=lambda r: -len(r[0].pattern))

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
        for pattern, methods, service in self._routes:
            match = pattern.fullmatch(rest)
            if match is None:
                continue
            handler = methods.get(request.method)
            if handler is None:
                raise errors.HTTPMethodNotAllowed()
            if request.method == "DELETE" and request.body not in (None, b"", ""):
                raise errors.HTTPBadRequest("Request body is not supported for DELETE")
            return handler(ctx, request, **match.groupdict())
        raise errors.HTTPNotFound()

    def _add_service_routes(self, service: ResourceService) -> None:
        base = _pattern(service.definition.collection)
        extra = getattr(service, "routes", None)
        if extra is not None:
            for suffix, methods in extra().items():
                self._routes.append((re.compile(base + suffix), methods, service))
            if getattr(service, "custom_routes_only", False):
                return
        collection = {"GET": self._list_handler(service), "POST": self._create_handler(service)}
        member = {
            "GET": self._show_handler(service),
            "PUT": self._update_handler(service),
            "DELETE": self._delete_handler(service),
        }
        self._routes.append((re.compile(base), collection, service))
        self._routes.append((re.compile(base + r"/(?P<rid>[^/]+)"), member, service))
        if service.definition.tags:
            self._add_tag_routes(service, base)
        for action, method_name in service.member_actions.items():
            handler = self._action_handler(getattr(service, method_name))
            self._routes.append((re.compile(base + rf"/(?P<rid>[^/]+)/{action}"), {"PUT": handler}, service))

    def _add_tag_routes(self, service: ResourceService, base: str) -> None:
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

        tags = base + r"/(?P<rid>[^/]+)/tags"
        self._routes.append((re.compile(tags), {"GET": get_all, "PUT": replace, "POST": add, "DELETE": remove_all}, service))
        one = {"GET": check_one, "PUT": add_one, "DELETE": remove_one}
        self._routes.append((re.compile(tags + r"/(?P<tag>[^/]+)"), one, service))

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
