"""``ResourceService``: the one place a resource's records are created, changed and removed.

A subclass declares its ``definition`` (attribute map) and overrides the hooks it needs:
``_create`` / ``_update`` / ``_delete`` for side effects and checks, ``visible`` / ``writable``
for policy. Every public method takes the caller's ``Context`` and enforces project isolation
itself, so any caller — the HTTP API, a scenario, a what-if fork — gets the same rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import errors, query
from .attributes import NOT_SET, REQUIRED, ResourceDef, duplicate_items
from .context import Context

if TYPE_CHECKING:  # pragma: no cover
    from .plane import ControlPlane

MAX_TAGS = 50


class ResourceService:
    """Create/read/update/delete with validation and policy for one collection."""

    definition: ResourceDef
    table: str  # store table (= definition.plural)
    attribute: str  # name of the service on the ControlPlane (plane.networks, ...)
    indexes: tuple[str, ...] = ("project_id",)  # store indexes this table keeps
    # PUT /{collection}/{id}/{action} handlers: action name -> method name on the service.
    member_actions: dict[str, str] = {}
    # Extension aliases this service implements (advertised at /v2.0/extensions).
    extensions: tuple[str, ...] = ()
    special_filters: frozenset[str] = frozenset()
    # Fields whose indexes make a filter fast (must be declared as store indexes).
    indexed_filters: tuple[str, ...] = ("project_id",)

    def __init__(self, plane: "ControlPlane"):
        self.plane = plane

    @property
    def store(self):
        return self.plane.store

    # --- policy hooks --------------------------------------------------------------------------
    def visible(self, ctx: Context, record: dict) -> bool:
        """May the caller see this record? (default: admin or same project)"""
        return ctx.is_admin or record.get("project_id") == ctx.project_id

    def writable(self, ctx: Context, record: dict) -> bool:
        """May the caller change or delete this visible record? (default: admin or owner member)"""
        return ctx.is_admin or (record.get("project_id") == ctx.project_id and ctx.is_member)

    def not_found(self, rid: str) -> errors.NeutronException:
        cls = self.definition.not_found or errors.HTTPNotFound
        if cls is errors.HTTPNotFound:
            return cls()
        return cls(**{self.definition.not_found_arg: rid})

    def policy_error(self, action: str) -> errors.PolicyNotAuthorized:
        return errors.PolicyNotAuthorized(action=f"rule:{action}_{self.definition.singular}")

    # --- reads --------------------------------------------------------------------------------
    def get(self, ctx: Context, rid: str) -> dict:
        """The stored record if the caller may see it, else the resource's NotFound."""
        record = self.store.get(self.table, rid) if isinstance(rid, str) else None
        if record is None or not self.visible(ctx, record):
            raise self.not_found(rid)
        return record

    def get_for_update(self, ctx: Context, rid: str, action: str = "update") -> dict:
        record = self.get(ctx, rid)
        if not self.writable(ctx, record):
            raise self.policy_error(action)
        return record

    def show(self, ctx: Context, rid: str, fields: list[str] | None = None) -> dict:
        return self.present(ctx, self.get(ctx, rid), fields)

    def candidates(self, ctx: Context, q: query.ListQuery) -> Iterator[dict]:
        """Records worth filtering: narrowed by an indexed equality filter when there is one."""
        for key in self.indexed_filters:
            values = q.filters.get(key)
            if values is not None:
                seen = []
                for value in values:
                    seen.extend(self.store.find(self.table, key, value))
                return iter(seen)
        return iter(self.store.table(self.table).values())

    def extra_checks(self, ctx: Context, q: query.ListQuery) -> list:
        """Predicates for resource-specific filters (``special_filters``)."""
        return []

    def list(self, ctx: Context, q: query.ListQuery) -> list[dict]:
        """Visible records passing the query, sorted and paged (not yet presented)."""
        match = query.matcher(q, self.extra_checks(ctx, q))
        if q.paging and not q.sorts:
            return self._page_by_id(ctx, q, match)
        records = [r for r in self.candidates(ctx, q) if self.visible(ctx, r) and match(r)]
        sorts = list(q.sorts)
        if q.paging:
            if not any(k == "id" for k, _ in sorts):
                sorts.append(("id", True))
            records = query.sort_records(records, sorts)
            return self._slice_page(records, q)
        return query.sort_records(records, sorts) if sorts else records

    def _page_by_id(self, ctx: Context, q: query.ListQuery, match) -> list[dict]:
        """Default paging walks the sorted id index from the marker: O(log n + page)."""
        ids = self.store.sorted_ids(self.table)
        table = self.store.table(self.table)
        if q.marker is not None and q.marker not in table:
            raise self.not_found(q.marker)
        if q.page_reverse:
            stop = ids.bisect_left(q.marker) if q.marker else len(ids)
            walk = (ids[i] for i in range(stop - 1, -1, -1))
        else:
            start = ids.bisect_right(q.marker) if q.marker else 0
            walk = ids.islice(start)
        page = []
        for rid in walk:
            record = table[rid]
            if self.visible(ctx, record) and match(record):
                page.append(record)
                if len(page) == q.limit:
                    break
        if q.page_reverse:
            page.reverse()
        return page

    def _slice_page(self, records: list[dict], q: query.ListQuery) -> list[dict]:
        position = {r["id"]: i for i, r in enumerate(records)}
        if q.marker is not None and self.store.get(self.table, q.marker) is None:
            raise self.not_found(q.marker)
        if q.page_reverse:
            end = position.get(q.marker, len(records)) if q.marker else len(records)
            return records[max(0, end - q.limit) : end]
        start = position[q.marker] + 1 if q.marker in position else 0
        return records[start : start + q.limit]

    def present(self, ctx: Context, record: dict, fields: list[str] | None = None) -> dict:
        """The record as this caller may see it: admin-only and internal attributes removed."""
        return self._select(record, self.hidden_for(ctx, record), fields)

    def present_many(self, ctx: Context, records: list[dict], fields: list[str] | None = None) -> list[dict]:
        """``present`` for a whole page (services override it to share per-page lookups)."""
        return [self.present(ctx, r, fields) for r in records]

    @staticmethod
    def _select(record: dict, drop: frozenset[str], fields: list[str] | None) -> dict:
        if fields:
            return {k: record[k] for k in fields if k in record and k not in drop}
        if not drop.intersection(record):
            return record
        return {k: v for k, v in record.items() if k not in drop}

    def hidden_for(self, ctx: Context, record: dict) -> frozenset[str]:
        d = self.definition
        return d.hidden_from_admins if ctx.is_admin else d.hidden_from_others

    # --- writes -------------------------------------------------------------------------------
    def create(self, ctx: Context, body: dict, **parents) -> dict:
        """Validate a POST body and create the resource (all-or-nothing)."""
        attrs = self.prepare_create(ctx, body)
        self.authorize_create(ctx, attrs)
        with self.store.transaction():
            self.plane.quotas.check(ctx, self.table, attrs["project_id"])
            return self._create(ctx, attrs, **parents)

    def update(self, ctx: Context, rid: str, body: dict, if_match: int | None = None, **parents) -> dict:
        changes = self.prepare_update(ctx, body)
        record = self.get_for_update(ctx, rid)
        self.check_revision(record, if_match)
        self.authorize_update(ctx, record, changes)
        if changes and all(k in record and record[k] == v for k, v in changes.items()):
            return record  # nothing changes: Neutron writes nothing and bumps no revision
        with self.store.transaction():
            return self._update(ctx, record, changes, **parents)

    def delete(self, ctx: Context, rid: str, if_match: int | None = None, **parents) -> None:
        record = self.get_for_update(ctx, rid, "delete")
        self.check_revision(record, if_match)
        with self.store.transaction():
            self._delete(ctx, record, **parents)

    def before_bulk_create(self, ctx: Context, bodies: list) -> None:
        """Checks that span a whole bulk POST, before any item is created."""

    def after_bulk_create(self, ctx: Context, records: list[dict]) -> None:
        """Checks that span a whole bulk POST (inside its transaction)."""

    def authorize_create(self, ctx: Context, attrs: dict) -> None:
        """Default create policy: members may create in their own project."""
        if not ctx.is_member:
            raise self.policy_error("create")
        self.check_admin_set(ctx, attrs, "create")

    def authorize_update(self, ctx: Context, record: dict, changes: dict) -> None:
        self.check_admin_set(ctx, changes, "update")

    def check_admin_set(self, ctx: Context, attrs: dict, action: str) -> None:
        if ctx.is_admin:
            return
        for attr in self.definition.attrs:
            if attr.admin_set and attr.name in attrs and attrs[attr.name] is not NOT_SET:
                if action == "create" and attr.default is not NOT_SET and attrs[attr.name] == attr.default:
                    continue
                singular = self.definition.singular
                raise errors.PolicyNotAuthorized(
                    action=f"(rule:{action}_{singular} and rule:{action}_{singular}:{attr.name})"
                )

    @staticmethod
    def check_revision(record: dict, if_match: int | None) -> None:
        if if_match is not None and record.get("revision_number") != if_match:
            raise errors.RevisionNumberConstraintFailed(
                expected=if_match, current=record.get("revision_number")
            )

    def _create(self, ctx: Context, attrs: dict, **parents) -> dict:
        record = self.new_record(attrs)
        self.store.put(self.table, record)
        return record

    def _update(self, ctx: Context, record: dict, changes: dict, **parents) -> dict:
        new = self.changed(record, changes)
        self.store.put(self.table, new)
        return new

    def _delete(self, ctx: Context, record: dict, **parents) -> None:
        self.store.delete(self.table, record["id"])

    # --- record helpers -------------------------------------------------------------------------
    def new_record(self, attrs: dict, **computed: Any) -> dict:
        """A fresh record with the standard attributes filled in."""
        now = self.plane.now()
        record = {"id": attrs.get("id") or self.plane.new_id()}
        record.update({k: v for k, v in attrs.items() if v is not NOT_SET})
        record.update(computed)
        record["tenant_id"] = record.get("project_id")
        record.setdefault("created_at", now)
        record["updated_at"] = record["created_at"]
        record["revision_number"] = 1
        if self.definition.tags:
            record.setdefault("tags", [])
        return record

    def changed(self, record: dict, changes: dict) -> dict:
        """A copy of ``record`` with ``changes``, one revision later."""
        new = dict(record)
        new.update(changes)
        new["revision_number"] = record.get("revision_number", 0) + 1
        new["updated_at"] = self.plane.now()
        return new

    def bump(self, rid: str) -> None:
        """Record that a child changed (Neutron bumps a parent's revision)."""
        record = self.store.get(self.table, rid)
        if record is not None:
            self.store.put(self.table, self.changed(record, {}))

    # --- body processing ------------------------------------------------------------------------
    def prepare_create(self, ctx: Context, body: Any) -> dict:
        """Check a POST body against the attribute map; fill defaults; resolve the project."""
        attrs = self.prepare_fields(body)
        attrs["project_id"] = self._project(ctx, body)
        return attrs

    def prepare_fields(self, body: Any) -> dict:
        """A POST body's attributes (project aside): known, allowed, converted, defaults filled."""
        body = self._body_dict(body)
        self._reject_unknown(body)
        attrs: dict = {}
        for attr in self.definition.attrs:
            if attr.name in ("project_id", "tenant_id"):
                continue
            if attr.name in body:
                if not attr.post:
                    raise errors.HTTPBadRequest(f"Attribute '{attr.name}' not allowed in POST")
                attrs[attr.name] = self._check(attr, body[attr.name])
            elif attr.required:
                raise errors.HTTPBadRequest(
                    f"Failed to parse request. Required attribute '{attr.name}' not specified"
                )
            elif attr.post:
                attrs[attr.name] = attr.default
        return attrs

    def prepare_update(self, ctx: Context, body: Any) -> dict:
        body = self._body_dict(body)
        self._reject_unknown(body)
        changes = {}
        for name, value in body.items():
            attr = self.definition.by_name[name]
            if not attr.put:
                raise errors.HTTPBadRequest(f"Cannot update read-only attribute {name}")
            changes[name] = self._check(attr, value)
        return changes

    def _body_dict(self, body: Any) -> dict:
        if not isinstance(body, dict):
            raise errors.HTTPBadRequest("Body contains invalid data")
        return body

    def _reject_unknown(self, body: dict) -> None:
        unknown = [k for k in body if k not in self.definition.by_name]
        if unknown:
            raise errors.HTTPBadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")

    @staticmethod
    def _check(attr, value):
        try:
            if attr.convert is not None:
                value = attr.convert(value)
            if attr.validate is not None:
                attr.validate(value)
        except (ValueError, TypeError) as exc:
            raise errors.HTTPBadRequest(f"Invalid input for {attr.name}. Reason: {exc}.") from None
        return value

    def _project(self, ctx: Context, body: dict) -> str:
        project, tenant = body.get("project_id"), body.get("tenant_id")
        for value in (project, tenant):
            if value is not None and (not isinstance(value, str) or len(value) > 255):
                raise errors.HTTPBadRequest(f"Invalid input for project_id. Reason: '{value}' is not a valid string.")
        if project is not None and tenant is not None and project != tenant:
            raise errors.HTTPBadRequest("'project_id' and 'tenant_id' do not match")
        wanted = project if project is not None else tenant
        if wanted is None:
            if ctx.project_id is None:
                raise errors.HTTPBadRequest(
                    "Failed to parse request. Required attribute 'project_id' not specified"
                )
            return ctx.project_id
        if wanted != ctx.project_id and not ctx.is_admin:
            raise errors.HTTPBadRequest(
                "Specifying 'project_id' or 'tenant_id' other than the authenticated project in "
                "request requires admin or advsvc privileges"
            )
        return wanted

    # --- tags ---------------------------------------------------------------------------------
    def set_tags(self, ctx: Context, rid: str, tags: list[str], replace: bool) -> dict:
        record = self.get_for_update(ctx, rid)
        tags = _check_tags(tags)
        merged = list(tags) if replace else list(dict.fromkeys(record.get("tags", []) + tags))
        if len(merged) > MAX_TAGS:
            raise errors.HTTPBadRequest(f"Number of tags exceeds the maximum {MAX_TAGS}")
        with self.store.transaction():
            return self._update_tags(record, merged)

    def remove_tags(self, ctx: Context, rid: str, tag: str | None) -> None:
        record = self.get_for_update(ctx, rid)
        tags = record.get("tags", [])
        if tag is not None and tag not in tags:
            raise errors.TagNotFound(tag=tag)
        with self.store.transaction():
            self._update_tags(record, [] if tag is None else [t for t in tags if t != tag])

    def _update_tags(self, record: dict, tags: list[str]) -> dict:
        new = self.changed(record, {"tags": tags})
        self.store.put(self.table, new)
        return new


def envelope(body: Any, key: str) -> dict:
    """The object inside ``{"<key>": {...}}``; Neutron's 400s for anything else."""
    if not isinstance(body, dict):
        raise errors.HTTPBadRequest("Body contains invalid data")
    if key not in body:
        raise errors.HTTPBadRequest(f"Unable to find '{key}' in request body")
    if len(body) > 1:
        extra = [k for k in body if k != key]
        raise errors.HTTPBadRequest(f"Unrecognized attribute(s) '{', '.join(extra)}'")
    return body[key]


def _check_tags(tags: Any) -> list[str]:
    if not isinstance(tags, list):
        raise errors.HTTPBadRequest("Invalid input for tags. Reason: not a list.")
    repeated = duplicate_items(tags)
    if repeated:
        # neutron-lib's list_of_unique_strings, raised by the tags controller as InvalidInput.
        raise errors.InvalidInput(error_message=f"Duplicate items in the list: '{', '.join(map(str, repeated))}'")
    for tag in tags:
        if not isinstance(tag, str) or not tag or len(tag) > 255 or "," in tag or "/" in tag:
            raise errors.HTTPBadRequest(f"Invalid input for tags. Reason: '{tag}' is not a valid tag.")
    return list(dict.fromkeys(tags))


__all__ = ["ResourceService", "MAX_TAGS", "REQUIRED", "envelope"]
