"""Checking admin request bodies (``{"project": {...}}`` and friends) before they touch state.

A small stand-in for Keystone's JSON schemas: each resource lists its fields with a kind;
unknown fields are kept as "extra" where Keystone keeps them (projects, users) and refused
elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from xloudnet.identity.errors import ValidationError

# Never taken from a body: the server owns them.
_READ_ONLY = frozenset({"id", "links"})
MAX_TAGS = 80
MAX_EXTRA_FIELDS = 32


@dataclass(frozen=True)
class Field:
    kind: str  # "string" | "boolean" | "tags" | "object" | "list"
    nullable: bool = False
    min_len: int = 0
    max_len: int = 255


NAME = Field("string", min_len=1, max_len=255)
TEXT = Field("string", nullable=True, max_len=65_535)
ID = Field("string", nullable=True, max_len=64)
FLAG = Field("boolean")
TAGS = Field("tags")
OPTIONS = Field("object")


def read_entity(
    body: object,
    envelope: str,
    fields: dict[str, Field],
    required: tuple[str, ...] = (),
    keep_extra: bool = False,
) -> tuple[dict, dict]:
    """``(known, extra)``: the checked known fields of ``body[envelope]`` and the rest."""
    if not isinstance(body, dict) or not isinstance(body.get(envelope), dict):
        raise ValidationError(f"Expecting to find {envelope} in request body.")
    data = body[envelope]
    for name in required:
        if name not in data:
            raise invalid(envelope, f"'{name}' is a required property")
    known, extra = {}, {}
    for key, value in data.items():
        if key in _READ_ONLY:
            continue
        if key in fields:
            known[key] = check_value(f"{envelope}.{key}", value, fields[key])
        elif keep_extra:
            extra[key] = value
        else:
            raise invalid(
                envelope, f"Additional properties are not allowed ('{key}' was unexpected)"
            )
    if len(extra) > MAX_EXTRA_FIELDS:
        raise invalid(envelope, f"at most {MAX_EXTRA_FIELDS} additional properties are allowed")
    return known, extra


def check_value(where: str, value: object, field: Field) -> object:
    """The value if it fits ``field``; tags come back as a tuple."""
    if value is None:
        if field.nullable:
            return None
        raise invalid(where, "None is not allowed")
    if field.kind == "string":
        return _check_string(where, value, field)
    if field.kind == "boolean":
        if not isinstance(value, bool):
            raise invalid(where, f"{_short(value)} is not of type 'boolean'")
        return value
    if field.kind == "tags":
        return _check_tags(where, value)
    if field.kind == "object":
        if not isinstance(value, dict):
            raise invalid(where, f"{_short(value)} is not of type 'object'")
        return value
    if field.kind == "list":
        if not isinstance(value, list):
            raise invalid(where, f"{_short(value)} is not of type 'array'")
        return value
    raise AssertionError(f"unknown field kind {field.kind}")


def _check_string(where: str, value: object, field: Field) -> str:
    if not isinstance(value, str):
        raise invalid(where, f"{_short(value)} is not of type 'string'")
    if not field.min_len <= len(value) <= field.max_len:
        raise invalid(where, f"length must be between {field.min_len} and {field.max_len}")
    if field is NAME and not value.strip():
        raise invalid(where, "must not be blank")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value) and field is not TEXT:
        raise invalid(where, "control characters are not allowed")
    return value


def _check_tags(where: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        raise invalid(where, f"expected a list of at most {MAX_TAGS} tags")
    for tag in value:
        if not isinstance(tag, str) or not 1 <= len(tag) <= 255 or "/" in tag or "," in tag:
            raise invalid(where, f"{_short(tag)} is not a valid tag")
    return tuple(dict.fromkeys(value))


def _short(value: object) -> str:
    """A repr short enough to echo back in an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def invalid(where: str, reason: str) -> ValidationError:
    return ValidationError(f"Invalid input for field '{where}': {reason}.")


def query_flag(value: str | None) -> bool:
    """Keystone's reading of a boolean query parameter: present and not a false word."""
    if value is None:
        return False
    return value.strip().lower() not in {"0", "false", "f", "no", "n", "off"}
