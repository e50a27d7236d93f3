"""Read a scenario file, keeping the line of every key and list item, and validate it.

Every problem — YAML syntax, schema (pydantic), references — is collected and reported at once
as ``FILE:LINE: PATH: MESSAGE`` (``scenarios/x.yaml:14: routers[0].interfaces[1]: subnet
'db-sub' is not defined``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .schema import Scenario


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


def validate(source: Source) -> Scenario:
    """The scenario model, or ``ScenarioError`` with every schema problem (each with its line)."""
    if source.problems:
        raise ScenarioError(source.problems)
    try:
        return Scenario.model_validate(source.data)
    except ValidationError as exc:
        raise ScenarioError(schema_problems(source, exc)) from None


def schema_problems(source: Source, exc: ValidationError) -> list[Problem]:
    """pydantic errors as problems: union-member noise dropped, locations as file paths."""
    problems, seen, skipped = [], set(), {}
    for error in exc.errors(include_url=False):
        loc, kept, member = error["loc"], [], False
        for part in loc:
            if isinstance(part, str) and (part[:1].isupper() or part in ("str", "int") or "[" in part):
                member = True  # a union member's tag (``Selector``, ``str``, ``function-after[...]``)
                continue
            kept.append(part)
        loc = tuple(kept)
        if member and error["type"] in _TYPE_ONLY:
            # "This member does not fit the value's type": the other member says what is wrong.
            skipped.setdefault(loc, error)
            continue
        message = _message(error)
        key = (loc, message)
        if key in seen:
            continue
        seen.add(key)
        problems.append(source.problem(loc, message))
    for loc in skipped:
        if not any(p.path.startswith(format_path(loc)) for p in problems):
            problems.append(source.problem(loc, "must be a name (string) or a mapping"))
    problems.sort(key=lambda p: (p.line or 0, p.path))
    return problems


_TYPE_ONLY = frozenset({"string_type", "model_type", "dict_type", "int_type", "model_attributes_type"})


def _message(error: dict) -> str:
    kind, text = error["type"], error["msg"]
    if kind == "extra_forbidden":
        return "unknown field (not part of the scenario format; see `xloudnet scenario schema`)"
    if kind == "missing":
        return "required field is missing"
    if text.startswith("Value error, "):
        text = text[len("Value error, "):]
    return text


def load(path: Path | str, text: str | None = None) -> tuple[Scenario, Source]:
    """Read and validate one file (schema and references); ``ScenarioError`` lists every problem."""
    from .references import check_references

    file = str(path)
    if text is None:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ScenarioError([Problem(file, None, "", f"cannot read: {exc.strerror or exc}")]) from None
    source = parse(text, file)
    if source.problems:
        raise ScenarioError(source.problems)
    try:
        return _checked(Scenario.model_validate(source.data), source)
    except ValidationError as caught:
        error = caught
    problems = schema_problems(source, error)
    # Schema problems: check the references of what is valid too, so every error shows at once.
    salvaged = _salvage(source.data, error)
    if salvaged is not None:
        scenario, positions, known = salvaged
        problems += check_references(scenario, source, positions, known)
    raise ScenarioError(sorted(problems, key=lambda p: (p.line or 0, p.path)))


def _checked(scenario: Scenario, source: Source) -> tuple[Scenario, Source]:
    from .references import check_references

    problems = check_references(scenario, source)
    if problems:
        raise ScenarioError(problems)
    return scenario, source


def _salvage(data: dict, exc: ValidationError):
    """The scenario without its invalid list items and sections, the original position of each
    kept item, and the names of the dropped ones (references to them are not reported)."""
    bad_items: dict[str, set[int]] = {}
    bad_sections = set()
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        if len(loc) >= 2 and isinstance(loc[1], int) and isinstance(data.get(loc[0]), list):
            bad_items.setdefault(loc[0], set()).add(loc[1])
        elif loc:
            bad_sections.add(loc[0])
    trimmed, positions, known = {}, {}, {}
    for key, value in data.items():
        if key in bad_sections:
            continue
        if key in bad_items:
            keep = [i for i in range(len(value)) if i not in bad_items[key]]
            trimmed[key] = [value[i] for i in keep]
            positions[key] = keep
            known[key] = {value[i].get("name") for i in bad_items[key] if isinstance(value[i], dict)}
        else:
            trimmed[key] = value
    try:
        return Scenario.model_validate(trimmed), positions, known
    except ValidationError:
        return None


__all__ = ["load", "parse", "validate", "Problem", "ScenarioError", "Source", "format_path"]
