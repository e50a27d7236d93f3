"""Write a scenario as YAML with one resource per line, fast enough for 10k ports.

PyYAML's representer walks every node in Python (about 3 s for a 10k-port scenario, even with
libyaml's emitter); a scenario is plain data (mappings, lists, strings, numbers, booleans, null),
so each list item is written here as one flow mapping — the style the shipped examples use —
and only the small parts that are not lists of resources go through PyYAML. A string is written
plain only when YAML would read it back as that same string; otherwise it is double-quoted with
JSON's escaping (a JSON string is a valid YAML double-quoted scalar).
"""

from __future__ import annotations

import functools
import json
import re

import yaml

__all__ = ["dump"]

# Plain in flow context: no indicators (,[]{}:#&*!|>'"%@`), no leading/trailing space.
_PLAIN = re.compile(r"[A-Za-z0-9_./\-+()=~^][A-Za-z0-9_./\-+()=~^ ]*(?<! )")
_RESOLVER = yaml.resolver.Resolver()
# What YAML refuses to read raw (outside its printable set), and the line breaks it would fold
# (NEL, LS, PS): written as \u / \U escapes.
_UNPRINTABLE = re.compile("[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _scalar(value) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        return _float(value)
    return _string(str(value))


def _float(value: float) -> str:
    """YAML 1.1 (PyYAML) reads ``5e-324`` as a string: an exponent needs a dot before it."""
    if value != value:
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    return text.replace("e", ".0e") if "e" in text and "." not in text else text


@functools.lru_cache(maxsize=1 << 16)  # network, subnet and group names repeat on every port
def _string(text: str) -> str:
    if _PLAIN.fullmatch(text) and _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str":
        return text
    return _UNPRINTABLE.sub(_escape, json.dumps(text, ensure_ascii=False))


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _flow(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def dump(data: dict) -> str:
    """``data`` (JSON-like) as YAML: lists of mappings one item per line, the rest block style."""
    parts = []
    for key, value in data.items():
        if isinstance(value, list) and value:
            parts.append(f"{_scalar(key)}:\n" + "".join(f"  - {_flow(item)}\n" for item in value))
        else:
            parts.append(yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=False, width=120))
    return "".join(parts)
