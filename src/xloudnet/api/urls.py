"""Where the client reached us: the one rule every service uses to build its links."""

from __future__ import annotations


def public_root(scope: dict, public_url: str | None) -> str:
    """``public_url`` when configured, else scheme (honouring ``X-Forwarded-Proto``) + ``Host``."""
    if public_url:
        return public_url.rstrip("/")
    headers = dict(scope.get("headers") or ())
    forwarded = headers.get(b"x-forwarded-proto")
    scheme = forwarded.decode("latin-1") if forwarded else scope.get("scheme", "http")
    host = headers.get(b"host")
    if host is not None:
        return f"{scheme}://{host.decode('latin-1')}"
    server = scope.get("server") or ("localhost", 80)
    return f"{scheme}://{server[0]}:{server[1]}"
