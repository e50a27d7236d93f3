"""Provision a scenario into any Neutron endpoint through openstacksdk, idempotent by name.

:func:`~xloudnet.cloud.plan.plan` compares the file with what the cloud holds and returns the
steps; :func:`execute` runs them in order (each builds its request when it runs, so references to
resources created earlier in the run resolve). A cloud has no transactions: if a call is refused,
the run stops there with the file position and Neutron's message; what was created stays, and the
next apply continues from it (it is idempotent).
"""

from __future__ import annotations

from collections.abc import Callable

from ..scenarios.references import Unresolved
from .plan import ApplyError, Step, plan

__all__ = ["ApplyError", "Step", "execute", "plan"]


def execute(steps: list[Step], progress: Callable[[Step], None] | None = None) -> dict[str, int]:
    """Run the steps in order; the counts of each verb. :class:`ApplyError` at the first refusal."""
    from keystoneauth1 import exceptions as ks_exceptions

    counts = {"create": 0, "update": 0, "unchanged": 0}
    for step in steps:
        if step.run is not None:
            try:
                step.run()
            except ks_exceptions.HttpError as exc:
                raise ApplyError(f"{step.where}: {step.kind} '{step.name}': the cloud refused to {step.verb} it: "
                                 f"{_neutron_message(exc)}") from None
            except Unresolved as exc:
                raise ApplyError(f"{step.where}: {step.kind} '{step.name}': {exc}") from None
        counts[step.verb] += 1
        if progress is not None:
            progress(step)
    return counts


def _neutron_message(exc) -> str:
    """``HTTP 409 IpAddressInUse: ...`` from Neutron's error body, or the status line."""
    response = getattr(exc, "response", None)
    try:
        inner = next(iter(response.json().values()))
        return f"HTTP {response.status_code} {inner.get('type', '')}: {inner.get('message', '')}"
    except (AttributeError, ValueError, StopIteration, TypeError):
        return " ".join(str(exc).split())[:300]
