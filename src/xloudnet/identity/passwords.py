"""Salted password hashes (PBKDF2-SHA256), so no plain secret is ever kept in memory."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# Few iterations on purpose: this is a test double of a cloud, logins must stay cheap; the
# salt still keeps the secrets out of the process memory in plain text.
_ITERATIONS = 2_000
_SCHEME = "pbkdf2-sha256"
MAX_PASSWORD_LENGTH = 4096  # Keystone's default [identity] max_password_length

_DUMMY_SALT = b"xloudnet-dummy-salt"


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A self-describing hash: ``pbkdf2-sha256$<iterations>$<salt>$<digest>``."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = _derive(password, salt, _ITERATIONS)
    return "$".join((_SCHEME, str(_ITERATIONS), _b64(salt), _b64(digest)))


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches ``stored``. A missing hash still costs one derivation,
    so that an unknown user and a wrong password take the same time."""
    if stored is None:
        _derive(password, _DUMMY_SALT, _ITERATIONS)
        return False
    scheme, iterations, salt, digest = stored.split("$")
    assert scheme == _SCHEME
    candidate = _derive(password, _unb64(salt), int(iterations))
    return hmac.compare_digest(candidate, _unb64(digest))


def _derive(password: str, salt: bytes, iterations: int) -> bytes:
    data = password.encode("utf-8", "surrogatepass")
    return hashlib.pbkdf2_hmac("sha256", data, salt, iterations)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
