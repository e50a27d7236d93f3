"""Resource declarations as data, neutron-lib style.

Each resource lists its attributes once (``Attr``); that one declaration drives body validation
(allowed on POST/PUT, required, defaults, converters, validators), visibility in responses,
admin-only attributes, list filters and sort keys. Validators raise ``ValueError`` with the
*reason*; the request layer wraps it into Neutron's "Invalid input for x. Reason: ..." message.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

# Sentinels: ``REQUIRED`` has no default; ``NOT_SET`` lets the service compute a value.
REQUIRED = object()
NOT_SET = object()


@dataclass(frozen=True)
class Attr:
    """One attribute of a resource and every rule the API applies to it."""

    name: str
    post: bool = False
    put: bool = False
    default: Any = NOT_SET
    convert: Callable[[Any], Any] | None = None
    validate: Callable[[Any], None] | None = None
    visible: bool = True
    admin_only: bool = False  # visible to admins only (stripped for others)
    admin_set: bool = False  # only admins may set it (else 403 PolicyNotAuthorized)
    filter: bool = False
    sort: bool = False
    filter_convert: Callable[[str], Any] | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class ResourceDef:
    """A collection: its URL/body names and its attribute map."""

    collection: str  # URL segment, e.g. "security-groups"
    plural: str  # body key for lists, e.g. "security_groups"
    singular: str  # body key for one, e.g. "security_group"
    attrs: tuple[Attr, ...]
    tags: bool = True
    not_found: type | None = None  # error class for an unknown id
    not_found_arg: str = "id"
    by_name: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "by_name", {a.name: a for a in self.attrs})

    @property
    def filters(self) -> dict[str, Attr]:
        return {a.name: a for a in self.attrs if a.filter}

    @property
    def sort_keys(self) -> frozenset[str]:
        return frozenset(a.name for a in self.attrs if a.sort)

    @cached_property
    def admin_only(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attrs if a.admin_only)

    @cached_property
    def hidden(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attrs if not a.visible)

    @cached_property
    def hidden_from_admins(self) -> frozenset[str]:
        return frozenset(self.hidden)

    @cached_property
    def hidden_from_others(self) -> frozenset[str]:
        return frozenset(self.hidden + self.admin_only)


# --- converters --------------------------------------------------------------------------------
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def to_bool(value: Any) -> bool:
    """Neutron's convert_to_boolean: bools, 0/1 and their string spellings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f"'{value}' cannot be converted to boolean")


def to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"'{value}' is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value)
    raise ValueError(f"'{value}' is not an integer")


def to_int_or_none(value: Any) -> int | None:
    return None if value is None else to_int(value)


def none_to_empty_list(value: Any) -> Any:
    return [] if value is None else value


def duplicate_items(values: list) -> list:
    """neutron-lib's _collect_duplicates: the items that occur more than once, in order (works
    for unhashable items too)."""
    seen, repeated = [], []
    for value in values:
        if value in seen and value not in repeated:
            repeated.append(value)
        seen.append(value)
    return repeated


# --- validators --------------------------------------------------------------------------------
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def string(max_len: int | None = 255, allow_none: bool = False) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if value is None and allow_none:
            return
        if not isinstance(value, str):
            raise ValueError(f"'{value}' is not a valid string")
        if max_len is not None and len(value) > max_len:
            raise ValueError(f"'{value}' exceeds maximum length of {max_len}")

    return check


def name_string(max_len: int = 255) -> Callable[[Any], None]:
    base = string(max_len)

    def check(value: Any) -> None:
        base(value)
        if _CONTROL.search(value):
            raise ValueError(f"'{value}' contains control characters")

    return check


def boolean(value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"'{value}' is not a valid boolean value")


def uuid_value(value: Any) -> None:
    if not isinstance(value, str):
        raise ValueError(f"'{value}' is not a valid UUID")
    try:
        uuid.UUID(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a valid UUID") from None


def uuid_or_none(value: Any) -> None:
    if value is not None:
        uuid_value(value)


def ip_address(value: Any) -> None:
    if not isinstance(value, str):
        raise ValueError(f"'{value}' is not a valid IP address")
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a valid IP address") from None


def ip_or_none(value: Any) -> None:
    if value is not None:
        ip_address(value)


def cidr(value: Any) -> None:
    if not isinstance(value, str) or "/" not in value:
        raise ValueError(f"'{value}' is not a valid IP subnet")
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"'{value}' is not a valid IP subnet") from None


def ip_or_cidr(value: Any) -> None:
    if not isinstance(value, str):
        raise ValueError(f"'{value}' is neither a valid IP address, nor is it a valid IP subnet")
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(
            f"'{value}' is neither a valid IP address, nor is it a valid IP subnet"
        ) from None


def one_of(*values: Any, allow_none: bool = False) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if value is None and allow_none:
            return
        if value not in values:
            raise ValueError(f"'{value}' is not in {list(values)}")

    return check


def int_range(low: int, high: int, allow_none: bool = False) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if value is None and allow_none:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"'{value}' is not an integer")
        if not low <= value <= high:
            raise ValueError(f"'{value}' is not in range {low} through {high}")

    return check


def list_of(item: Callable[[Any], None], max_items: int | None = None) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if not isinstance(value, list):
            raise ValueError(f"'{value}' is not a list")
        if max_items is not None and len(value) > max_items:
            raise ValueError(f"'{value}' exceeds maximum of {max_items} items")
        for element in value:
            item(element)

    return check


def dict_value(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValueError(f"'{value}' is not a dictionary")


def dict_or_none(value: Any) -> None:
    if value is not None:
        dict_value(value)


def anything(value: Any) -> None:
    return None


# --- common attribute groups ---------------------------------------------------------------------
def standard_attrs(tags: bool = True, description: bool = True) -> tuple[Attr, ...]:
    """id, project, timestamps and revision: present on every Neutron standard resource."""
    attrs = [
        Attr("id", filter=True, sort=True),
        Attr("project_id", post=True, validate=string(255), filter=True, sort=True),
        Attr("tenant_id", post=True, validate=string(255), filter=True, sort=True),
        Attr("created_at"),
        Attr("updated_at"),
        Attr("revision_number", filter=True, filter_convert=to_int),
    ]
    if description:
        attrs.append(Attr("description", post=True, put=True, default="", validate=string(255), filter=True))
    if tags:
        attrs.append(Attr("tags"))
    return tuple(attrs)


def name_attr() -> Attr:
    return Attr("name", post=True, put=True, default="", validate=name_string(255), filter=True, sort=True)
