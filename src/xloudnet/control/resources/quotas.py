"""SCAFFOLD — replaced by its owner. Quotas."""

from __future__ import annotations

from ..attributes import ResourceDef
from ..service import ResourceService

QUOTA = ResourceDef(collection="quotas", plural="quotas", singular="quota", tags=False, attrs=())


class QuotaService(ResourceService):
    definition = QUOTA
    table = "quotas"
    attribute = "quotas"

    def check(self, ctx, table: str, project_id: str) -> None:
        """Raise OverQuota when the project may not create one more ``table`` record."""
