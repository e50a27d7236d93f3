"""Who is asking: the request context every service call takes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Context:
    """The caller of a control-plane operation.

    ``roles`` are role names with implied roles already expanded (admin ⇒ member ⇒ reader), as
    Keystone puts them into tokens. ``project_id`` is the token's project scope.
    """

    project_id: str | None
    user_id: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    request_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_member(self) -> bool:
        return "admin" in self.roles or "member" in self.roles

    @property
    def is_reader(self) -> bool:
        return self.is_member or "reader" in self.roles

    def elevated(self) -> "Context":
        """The same caller with admin rights, for work the system does on its behalf."""
        return replace(self, roles=self.roles | {"admin", "member", "reader"})

    @classmethod
    def admin(cls, project_id: str | None = None) -> "Context":
        return cls(project_id=project_id, user_id=None, roles=frozenset({"admin", "member", "reader"}))
