"""List queries: filters, sorting, paging and field selection, validated against a resource's
attribute map exactly as Neutron does (unknown filter or sort key → 400)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from . import errors
from .attributes import ResourceDef, to_bool

RESERVED = frozenset({"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse"})
TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")


@dataclass
class ListQuery:
    """A parsed list request."""

    filters: dict[str, list] = field(default_factory=dict)
    tag_filters: dict[str, set[str]] = field(default_factory=dict)
    special: dict[str, list[str]] = field(default_factory=dict)  # resource-specific (fixed_ips=)
    fields: list[str] = field(default_factory=list)
    sorts: list[tuple[str, bool]] = field(default_factory=list)  # (key, ascending)
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False
    changed_since: datetime | None = None

    @property
    def paging(self) -> bool:
        return self.limit is not None and self.limit > 0


def parse(
    items: Iterable[tuple[str, str]],
    definition: ResourceDef,
    special: frozenset[str] = frozenset(),
    max_limit: int | None = None,
) -> ListQuery:
    """Turn query-string pairs into a ``ListQuery``; raise ``HTTPBadRequest`` like Neutron."""
    q = ListQuery()
    grouped: dict[str, list[str]] = {}
    for key, value in items:
        grouped.setdefault(key, []).append(value)
    q.fields = [f for f in grouped.get("fields", []) if f]
    _parse_sorts(q, grouped, definition)
    _parse_paging(q, grouped, max_limit)
    bad = []
    for key, values in grouped.items():
        if key in RESERVED:
            continue
        if key in TAG_FILTERS and definition.tags:
            q.tag_filters[key] = {t for v in values for t in v.split(",") if t}
        elif key in special:
            q.special[key] = values
        elif key == "changed_since":
            q.changed_since = _parse_time(values[-1])
        elif key in definition.filters:
            q.filters[key] = [_convert_filter(definition.filters[key], v) for v in values]
        else:
            bad.append(key)
    if bad:
        raise errors.HTTPBadRequest(f"{bad} is invalid attribute for filtering")
    return q


def _parse_sorts(q: ListQuery, grouped: dict, definition: ResourceDef) -> None:
    keys, dirs = grouped.get("sort_key", []), grouped.get("sort_dir", [])
    if not keys and not dirs:
        return
    if len(keys) != len(dirs):
        raise errors.HTTPBadRequest("The number of sort_keys and sort_dirs must be same")
    bad_dirs = [d for d in dirs if d not in ("asc", "desc")]
    if bad_dirs:
        raise errors.HTTPBadRequest(f"{bad_dirs} is invalid value for sort_dirs, valid value is 'asc' and 'desc'")
    bad_keys = [k for k in keys if k not in definition.sort_keys]
    if bad_keys:
        raise errors.HTTPBadRequest(f"{bad_keys} is invalid attribute for sort_keys")
    q.sorts = [(k, d == "asc") for k, d in zip(keys, dirs)]


def _parse_paging(q: ListQuery, grouped: dict, max_limit: int | None) -> None:
    if "limit" in grouped:
        raw = grouped["limit"][-1]
        try:
            limit = int(raw)
        except ValueError:
            limit = -1
        if limit < 0:
            raise errors.HTTPBadRequest(f"Limit must be an integer 0 or greater and not '{raw}'")
        if max_limit and (limit == 0 or limit > max_limit):
            limit = max_limit
        q.limit = limit
    if "marker" in grouped:
        q.marker = grouped["marker"][-1]
    if "page_reverse" in grouped:
        try:
            q.page_reverse = to_bool(grouped["page_reverse"][-1])
        except ValueError:
            raise errors.HTTPBadRequest(f"Invalid value for page_reverse: {grouped['page_reverse'][-1]}") from None


def _convert_filter(attr, value: str):
    convert = attr.filter_convert or attr.convert
    if convert is None:
        return value
    try:
        return convert(value)
    except (ValueError, TypeError) as exc:
        raise errors.HTTPBadRequest(f"Invalid input for {attr.name}. Reason: {exc}.") from None


def _parse_time(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise errors.InvalidInput(error_message=f"'{value}' is not a valid timestamp") from None


# --- applying a query --------------------------------------------------------------------------
def matcher(q: ListQuery, extra: list[Callable[[dict], bool]] = ()) -> Callable[[dict], bool]:
    """A predicate true for records that pass every filter of the query."""
    checks: list[Callable[[dict], bool]] = list(extra)
    for key, values in q.filters.items():
        checks.append(_value_check(key, values))
    for key, tags in q.tag_filters.items():
        checks.append(_tag_check(key, tags))
    if q.changed_since is not None:
        since = q.changed_since.strftime("%Y-%m-%dT%H:%M:%SZ")
        checks.append(lambda r: r.get("updated_at", "") >= since)
    if not checks:
        return lambda record: True
    return lambda record: all(check(record) for check in checks)


def _value_check(key: str, values: list) -> Callable[[dict], bool]:
    wanted = set(_hashable(v) for v in values)

    def check(record: dict) -> bool:
        value = record.get(key)
        if isinstance(value, list):
            return any(_hashable(v) in wanted for v in value)
        return _hashable(value) in wanted

    return check


def _hashable(value):
    if isinstance(value, (list, dict)):
        return repr(value)
    return value


def _tag_check(kind: str, tags: set[str]) -> Callable[[dict], bool]:
    if kind == "tags":
        return lambda r: tags <= set(r.get("tags") or ())
    if kind == "tags-any":
        return lambda r: bool(tags & set(r.get("tags") or ()))
    if kind == "not-tags":
        return lambda r: not (tags <= set(r.get("tags") or ()))
    return lambda r: not (tags & set(r.get("tags") or ()))


def sort_records(records: list[dict], sorts: list[tuple[str, bool]]) -> list[dict]:
    """Stable multi-key sort; ``None`` sorts first ascending (as SQL NULLs in Neutron)."""
    for key, ascending in reversed(sorts):
        records.sort(key=lambda r: _sort_value(r.get(key)), reverse=not ascending)
    return records


def _sort_value(value):
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, (int, float)):
        return (1, value)
    return (2, str(value))


def page_links(
    base_url: str, items: list[tuple[str, str]], collection: str, page: list[dict], q: ListQuery
) -> list[dict]:
    """Neutron's ``<collection>_links`` rules: ``next`` unless a short forward page, ``previous``
    unless a short reverse page; each link carries the marker of the page's edge, or none at all
    when the page is empty (so ``previous`` of an empty last page walks back from the end)."""
    links = []
    kept = [(k, v) for k, v in items if k not in ("marker", "page_reverse")]
    short = len(page) < (q.limit or 0)
    if not (short and not q.page_reverse):
        marker = [("marker", page[-1]["id"])] if page else []
        links.append({"rel": "next", "href": _href(base_url, kept + marker)})
    if not (short and q.page_reverse):
        marker = [("marker", page[0]["id"])] if page else []
        links.append({"rel": "previous", "href": _href(base_url, kept + marker + [("page_reverse", "True")])})
    return links


def _href(base_url: str, items: list[tuple[str, str]]) -> str:
    return f"{base_url}?{urlencode(items)}" if items else base_url
