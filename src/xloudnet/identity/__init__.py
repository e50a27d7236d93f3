"""Identity: the Keystone v3 subset xloudnet serves (projects, users, roles, tokens, catalog).

No HTTP here; ``xloudnet.api.identity_routes`` adapts it to Keystone's URLs and bodies.
"""

from xloudnet.identity.catalog import default_catalog
from xloudnet.identity.errors import (
    Conflict,
    Forbidden,
    IdentityError,
    MethodNotAllowed,
    NotFound,
    RequestTooLarge,
    Unauthorized,
    ValidationError,
)
from xloudnet.identity.service import IdentityService
from xloudnet.identity.tokens import TokenInfo, format_time

__all__ = [
    "Conflict",
    "Forbidden",
    "IdentityError",
    "IdentityService",
    "MethodNotAllowed",
    "NotFound",
    "RequestTooLarge",
    "TokenInfo",
    "Unauthorized",
    "ValidationError",
    "default_catalog",
    "format_time",
]
