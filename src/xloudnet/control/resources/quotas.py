"""Quotas: per-project limits on how many of each resource a project may own.

Every service ``create`` calls ``check`` inside its transaction, so a bulk POST that would go
over a limit fails as a whole. Limits come from Neutron's defaults, overridable per plane with
``ControlPlane(quotas={...})`` and per project through the API; the per-project limits live in
the store (table ``quotas``, one record per project) so forks and rollbacks include them.
-1 means unlimited. Resources created for the system (router gateway and floating-IP ports,
whose project is "") are not counted against anybody, as in Neutron.
"""

from __future__ import annotations

from typing import Any

from .. import errors
from ..attributes import Attr, ResourceDef, to_bool, to_int
from ..context import Context
from ..messages import Response
from ..service import ResourceService
from .qos import MAX_INT, value_range

# Neutron's defaults (the order is the one Neutron answers in, sample 061).
DEFAULTS: dict[str, int] = {
    "network": 100,
    "subnet": 100,
    "subnetpool": -1,
    "port": 500,
    "router_route": 30,
    "router": 10,
    "floatingip": 50,
    "rbac_policy": 10,
    "security_group": 10,
    "security_group_rule": 100,
}
# Store table -> quota resource it counts against.
TABLE_RESOURCES: dict[str, str] = {
    "networks": "network",
    "subnets": "subnet",
    "subnetpools": "subnetpool",
    "ports": "port",
    "routers": "router",
    "floatingips": "floatingip",
    "security_groups": "security_group",
    "security_group_rules": "security_group_rule",
    "rbac_policies": "rbac_policy",
}
RESOURCE_TABLES = {resource: table for table, resource in TABLE_RESOURCES.items()}

QUOTA = ResourceDef(
    collection="quotas",
    plural="quotas",
    singular="quota",
    tags=False,
    attrs=tuple(Attr(name, put=True, convert=to_int, validate=value_range(-1, MAX_INT)) for name in DEFAULTS),
)


class QuotaService(ResourceService):
    """Quota limits, usage and the ``/v2.0/quotas`` API (quotas + quota_details extensions)."""

    definition = QUOTA
    table = "quotas"
    attribute = "quotas"
    indexes = ()
    indexed_filters = ()
    extensions = ("quotas", "quota_details", "quota-check-limit", "quota-check-limit-default")
    custom_routes_only = True

    def __init__(self, plane):
        super().__init__(plane)
        overrides = dict(getattr(plane, "_quota_overrides", None) or {})
        unknown = sorted(set(overrides) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"unknown quota resources {unknown}; known: {sorted(DEFAULTS)}")
        self.defaults = {name: int(overrides.get(name, value)) for name, value in DEFAULTS.items()}

    # --- hooks for other services -------------------------------------------------------------
    def check(self, ctx: Context, table: str, project_id: str | None) -> None:
        """Raise OverQuota when ``project_id`` may not own one more ``table`` record."""
        resource = TABLE_RESOURCES.get(table)
        if resource is None or not project_id:
            return
        limit = self.limit(project_id, resource)
        if limit >= 0 and self.usage(project_id, resource) >= limit:
            raise errors.OverQuota(overs=[resource])

    def limit(self, project_id: str, resource: str) -> int:
        """The project's limit for ``resource`` (e.g. routers ask for ``router_route``)."""
        record = self.store.get(self.table, project_id)
        if record is not None and resource in record:
            return record[resource]
        return self.defaults[resource]

    def limits(self, project_id: str) -> dict[str, int]:
        record = self.store.get(self.table, project_id) or {}
        return {name: record.get(name, default) for name, default in self.defaults.items()}

    def usage(self, project_id: str, resource: str) -> int:
        """How many of ``resource`` the project owns now (O(1): the tables index project_id)."""
        if resource == "router_route":
            routers = self.store.find("routers", "project_id", project_id)
            return sum(len(r.get("routes") or ()) for r in routers)
        table = RESOURCE_TABLES.get(resource)
        if table is None:
            return 0  # subnet pools and RBAC policies are not implemented
        return self.store.count_where(table, "project_id", project_id)

    def details(self, project_id: str) -> dict[str, dict]:
        return {
            name: {"limit": limit, "used": self.usage(project_id, name), "reserved": 0}
            for name, limit in self.limits(project_id).items()
        }

    # --- API operations -----------------------------------------------------------------------
    def all_quotas(self, ctx: Context) -> list[dict]:
        """Every project that has limits of its own (admin only)."""
        self._require("get", ctx, None)
        return [
            {**self.limits(pid), "project_id": pid, "tenant_id": pid}
            for pid in self.store.sorted_ids(self.table)
        ]

    def show_limits(self, ctx: Context, project_id: str) -> dict[str, int]:
        self._require("get", ctx, project_id)
        return self.limits(project_id)

    def show_defaults(self, ctx: Context, project_id: str) -> dict[str, int]:
        self._require("get", ctx, project_id)
        return dict(self.defaults)

    def show_details(self, ctx: Context, project_id: str) -> dict[str, dict]:
        if project_id != ctx.project_id and not ctx.is_admin:
            raise errors.AdminRequired(reason="Only admin is authorized to access quotas for another tenant")
        return self.details(project_id)

    def set_limits(self, ctx: Context, project_id: str, body: Any) -> dict[str, int]:
        """PUT: change some limits of a project (ints >= -1); returns all its limits.

        As in Neutron 29, a limit below the current usage is refused unless ``force`` is true.
        """
        self._require("update", ctx, None)
        if not isinstance(body, dict):
            raise errors.HTTPBadRequest("Body contains invalid data")
        if "quota" not in body:
            raise errors.HTTPBadRequest("Unable to find 'quota' in request body")
        item = dict(self._body_dict(body["quota"]))
        force = item.pop("force", None)
        item.pop("check_limit", None)  # the check is the default now (quota-check-limit-default)
        self._reject_unknown(item)
        values = {name: self._check(self.definition.by_name[name], value) for name, value in item.items()}
        if not (force is not None and self._flag("force", force)):
            self._check_usage(project_id, values)
        with self.store.transaction():
            record = dict(self.store.get(self.table, project_id) or {"id": project_id})
            record.update(values)
            self.store.put(self.table, record)
        return self.limits(project_id)

    def reset(self, ctx: Context, project_id: str) -> None:
        """DELETE: back to the defaults; 404 if the project had no limits of its own."""
        self._require("delete", ctx, None)
        if self.store.get(self.table, project_id) is None:
            raise errors.TenantQuotaNotFound(tenant_id=project_id)
        with self.store.transaction():
            self.store.delete(self.table, project_id)

    def _require(self, action: str, ctx: Context, project_id: str | None) -> None:
        """Admins may do anything; others may only read their own project's quotas."""
        if ctx.is_admin or (action == "get" and project_id is not None and project_id == ctx.project_id):
            return
        raise errors.PolicyNotAuthorized(action=f"rule:{action}_quota")

    def _check_usage(self, project_id: str, values: dict[str, int]) -> None:
        for name, limit in values.items():
            used = self.usage(project_id, name)
            if 0 <= limit < used:
                raise errors.HTTPBadRequest(
                    f"Quota limit {limit} for {name} must be greater than or equal to already used {used}"
                )

    @staticmethod
    def _flag(name: str, value: Any) -> bool:
        try:
            return to_bool(value)
        except ValueError as exc:
            raise errors.HTTPBadRequest(f"Invalid input for {name}. Reason: {exc}.") from None

    # --- routes -------------------------------------------------------------------------------
    def routes(self) -> dict:
        def index(ctx, req):
            return Response(200, {"quotas": self.all_quotas(ctx)})

        def create(ctx, req):
            raise errors.HTTPNotImplemented("POST requests are not supported on this resource.")

        def show(ctx, req, rid):
            # ``/quotas/project`` and ``/quotas/tenant`` are collection actions in Neutron; the
            # member pattern catches them first here (longer regex), so they are told apart by name.
            if rid in ("project", "tenant"):
                if not ctx.project_id:
                    raise errors.QuotaMissingTenant()
                return Response(200, {rid: {f"{rid}_id": ctx.project_id}})
            return Response(200, {"quota": self.show_limits(ctx, rid)})

        def update(ctx, req, rid):
            return Response(200, {"quota": self.set_limits(ctx, rid, req.body)})

        def delete(ctx, req, rid):
            self.reset(ctx, rid)
            return Response(204)

        def default(ctx, req, rid):
            return Response(200, {"quota": self.show_defaults(ctx, rid)})

        def details(ctx, req, rid):
            return Response(200, {"quota": self.show_details(ctx, rid)})

        member = r"/(?P<rid>[^/]+)"
        return {
            "": {"GET": index, "POST": create},
            member: {"GET": show, "PUT": update, "DELETE": delete},
            member + "/default": {"GET": default},
            member + "/details": {"GET": details},
        }


__all__ = ["QuotaService", "DEFAULTS", "TABLE_RESOURCES"]
