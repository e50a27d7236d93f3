"""Server settings: one plain object, built by the CLI from flags, a config file and the
environment, then passed to constructors. Nothing reads the environment at import time."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEFAULT_PASSWORD = "secret"


@dataclass(frozen=True)
class Account:
    """A project + user pair created at start-up (devstack convention: same name for both)."""

    name: str
    role: str = "member"
    password: str | None = None  # None: the server-wide password
    project: str | None = None  # None: a project named like the user


@dataclass(frozen=True)
class Settings:
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
    max_body_bytes: int = 1_048_576
    quotas: dict[str, int] = field(default_factory=dict)
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
    """Merge a YAML config file, the environment and command-line overrides (in that order)."""
    data: dict = {}
    if config is not None:
        data = yaml.safe_load(Path(config).read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{config}: expected a mapping at the top level")
    if "XLOUDNET_PASSWORD" in env:
        data["password"] = env["XLOUDNET_PASSWORD"]
    data.update({k: v for k, v in overrides.items() if v is not None})
    accounts = data.pop("accounts", None)
    known = {f for f in Settings.__dataclass_fields__}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown settings: {sorted(unknown)}")
    settings = Settings(**data)
    if accounts:
        extra = tuple(Account(**a) for a in accounts)
        names = {a.name for a in extra}
        base = tuple(a for a in settings.accounts if a.name not in names)
        settings = Settings(**{**settings.__dict__, "accounts": base + extra})
    return settings
