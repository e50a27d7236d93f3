"""Read a scenario file, keeping the line of every key and list item, and validate it.

Every problem — YAML syntax, schema (pydantic), references — is collected and reported at once
as ``FILE:LINE: PATH: MESSAGE`` (``scenarios/x.yaml:14: routers[0].interfaces[1]: subnet
'db-sub' is not defined``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from .references import check_references
from .schema import Scenario
from .source import LineDict, LineList, Problem, ScenarioError, Source, format_path, parse

__all__ = ["LineDict", "LineList", "Problem", "ScenarioError", "Source", "format_path", "load", "parse",
           "read_source", "schema_problems", "validate"]


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


def read_source(path: Path | str, text: str | None = None) -> Source:
    """One file (or ``text`` given for it) parsed with line numbers; ``ScenarioError`` when it
    cannot be read or is not YAML."""
    file = str(path)
    if text is None:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ScenarioError([Problem(file, None, "", f"cannot read: {exc.strerror or exc}")]) from None
    source = parse(text, file)
    if source.problems:
        raise ScenarioError(source.problems)
    return source


def load(path: Path | str, text: str | None = None) -> tuple[Scenario, Source]:
    """Read and validate one file (schema and references); ``ScenarioError`` lists every problem."""
    source = read_source(path, text)
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

