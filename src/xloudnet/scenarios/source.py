"""A scenario file as parsed YAML that remembers the line of every key and list item, and the
``Problem`` / ``ScenarioError`` every check reports with (``FILE:LINE: PATH: MESSAGE``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario, where it is."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "path": self.path, "message": self.message}


class ScenarioError(Exception):
    """A scenario that cannot be run; ``problems`` lists every reason found."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class LineDict(dict):
    """A mapping from YAML that remembers its own line and each key's line (1-based)."""

    line: int = 0
    lines: dict


class LineList(list):
    line: int = 0
    lines: list


# libyaml's parser when present (five times faster on big files); it keeps node marks too.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):
    """Safe YAML, building ``LineDict`` / ``LineList`` (node marks kept)."""


def _map(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line, out.lines = node.start_mark.line + 1, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(None, None, "a key must be a plain value", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _seq(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line, out.lines = node.start_mark.line + 1, [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _seq)


@dataclass
class Source:
    """A parsed file: its data (with lines) and its name as the user gave it."""

    file: str
    data: Any
    problems: list[Problem] = field(default_factory=list)

    def line_of(self, loc: tuple) -> int | None:
        """The line of the deepest element of ``loc`` (keys and indexes) found in the data."""
        node, line = self.data, getattr(self.data, "line", None)
        for part in loc:
            if isinstance(node, LineDict) and part in node:
                line = node.lines.get(part, line)
                node = node[part]
            elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
                line = node.lines[part]
                node = node[part]
            else:
                break
        return line

    def problem(self, loc: tuple, message: str) -> Problem:
        return Problem(self.file, self.line_of(loc), format_path(loc), message)


def format_path(loc: tuple) -> str:
    """``('routers', 0, 'interfaces', 1)`` → ``routers[0].interfaces[1]``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def parse(text: str, file: str) -> Source:
    """YAML text → ``Source`` (a syntax error becomes a problem with its line)."""
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        return Source(file, None, [Problem(file, line, "", f"not valid YAML: {exc.problem or exc}")])
    except yaml.YAMLError as exc:
        return Source(file, None, [Problem(file, None, "", f"not valid YAML: {exc}")])
    if data is None:
        data = LineDict()
        data.line, data.lines = 1, {}
    if not isinstance(data, dict):
        return Source(file, data, [Problem(file, 1, "", "a scenario must be a mapping (name, networks, ...)")])
    return Source(file, data)
