"""Server settings: one plain object, built by the CLI from flags, a config file and the
environment, then passed to constructors. Nothing reads the environment at import time."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ConfigDict, TypeAdapter, ValidationError

DEFAULT_PASSWORD = "secret"


class SettingsError(ValueError):
    """A config file that cannot be used: one line per problem, ``file:line: what``."""


@dataclass(frozen=True)
class Account:
    """A project + user pair created at start-up (devstack convention: same name for both)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # a misspelt key is an error, not ignored

    name: str
    role: str = "member"
    password: str | None = None  # None: the server-wide password
    project: str | None = None  # None: a project named like the user


@dataclass(frozen=True)
class Settings:
    __pydantic_config__ = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = 9696
    password: str = DEFAULT_PASSWORD
    token_ttl_seconds: int = 3600
    region: str = "RegionOne"
    # Base URL advertised in the catalog; None = derived from each request's Host header.
    public_url: str | None = None
    accounts: tuple[Account, ...] = (
        Account("admin", "admin"),
        Account("demo", "member"),
        Account("alt_demo", "member"),
    )
    pagination_max_limit: int | None = None
    max_body_bytes: int = 1_048_576  # every service: larger request bodies are 413
    # Analysis bounds (docs/limits.md): pairs per matrix, pool threads, per-project queues.
    matrix_max_pairs: int = 1_000_000
    analysis_workers: int = 2
    analysis_queue_per_project: int = 8
    simulation_jobs_per_project: int = 4
    simulation_jobs_kept: int = 32
    simulation_job_ttl_seconds: float = 3600.0
    simulation_processes: bool = True  # each job in a forked, niced child (where fork exists)
    # SIGTERM: how long in-flight requests may take to finish before the server exits anyway.
    shutdown_grace_seconds: float = 10.0
    quotas: dict[str, int] = field(default_factory=dict)
    # Simulate a DHCP agent: a network:dhcp port (lowest free address) on every network with a
    # DHCP-enabled subnet, as a real cloud shows. False: a cloud without one (e.g. OVN's built-in DHCP).
    dhcp_agent: bool = True
    # Directory of the durable state (SQLite); None: everything lives in memory only.
    state_dir: str | None = None
    # "normal": an acknowledged write survives the process being killed (kill -9, OOM);
    # "full": also a power loss, at one fsync per write (docs/state.md).
    state_sync: str = "normal"

    def check_safe_to_bind(self) -> None:
        """Refuse the well-known default password on an address others can reach."""
        if self.password != DEFAULT_PASSWORD:
            return
        try:
            loopback = ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            loopback = self.host == "localhost"
        if not loopback:
            raise ValueError(
                f"refusing to serve on {self.host} with the default password: set "
                "XLOUDNET_PASSWORD or 'password' in the config file"
            )


def load_settings(config: Path | None, env: dict[str, str], **overrides) -> Settings:
    """Merge a YAML config file, the environment and command-line overrides (in that order).

    Raises ``SettingsError`` naming every problem at once (``file:line: setting: what``)."""
    data: dict = {}
    lines: dict[tuple, int] = {}
    if config is not None:
        data, lines = _read(Path(config))
    if "XLOUDNET_PASSWORD" in env:
        data["password"] = env["XLOUDNET_PASSWORD"]
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        parsed = TypeAdapter(Settings).validate_python(data)
    except ValidationError as exc:
        problems = sorted(exc.errors(), key=lambda e: _line(lines, tuple(e["loc"])) or 0)
        raise SettingsError("\n".join(_problem(config, lines, e) for e in problems)) from None
    if "accounts" not in data:
        return parsed
    names = {a.name for a in parsed.accounts}
    base = tuple(a for a in Settings.accounts if a.name not in names)
    return Settings(**{**parsed.__dict__, "accounts": base + parsed.accounts})


def _read(config: Path) -> tuple[dict, dict[tuple, int]]:
    """The file's mapping and the line of every key in it (for messages)."""
    try:
        text = config.read_text()
    except OSError as exc:
        raise SettingsError(f"{config}: {exc.strerror or exc}") from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text) or {}
    except yaml.MarkedYAMLError as exc:
        raise SettingsError(yaml_error_line(config, exc)) from None
    if not isinstance(data, dict):
        raise SettingsError(f"{config}:1: expected a mapping of settings at the top level")
    lines: dict[tuple, int] = {}
    _walk(node, (), lines)
    return data, lines


def yaml_error_line(path, exc: yaml.MarkedYAMLError) -> str:
    """``file:line: message`` for a YAML syntax error (the line where the broken construct
    starts, e.g. an unclosed bracket, rather than the end of the file where it was noticed)."""
    mark = exc.context_mark or exc.problem_mark
    where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
    message = f"{exc.context}: {exc.problem}" if exc.context else str(exc.problem)
    return f"{where}: {message}"


def _walk(node, path: tuple, lines: dict) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[path + (key.value,)] = key.start_mark.line + 1
            _walk(value, path + (key.value,), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            lines[path + (i,)] = value.start_mark.line + 1
            _walk(value, path + (i,), lines)


def _line(lines: dict, loc: tuple) -> int | None:
    return next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), None)


def _problem(config: Path | None, lines: dict, error: dict) -> str:
    loc = tuple(error["loc"])
    where = ".".join(str(part) for part in loc)
    if error["type"] == "unexpected_keyword_argument":
        known = ", ".join(f for f in Settings.__dataclass_fields__) if len(loc) == 1 else \
            ", ".join(Account.__dataclass_fields__)
        message = f"unknown setting '{where}' (known: {known})"
    else:
        message = f"{where}: {error['msg']}"
    line = _line(lines, loc)
    if config is None:
        return message
    return f"{config}:{line}: {message}" if line else f"{config}: {message}"
