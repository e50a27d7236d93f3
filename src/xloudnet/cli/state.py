"""``serve --state DIR``: open the state directory, restore the control plane and identity from
it, and make every later write durable there (``docs/state.md``)."""

from __future__ import annotations

from ..control import state
from ..control.plane import ControlPlane
from ..control.statelog import StateLog
from ..identity import IdentityService
from ..settings import Settings


def open_state(settings: Settings, plane: ControlPlane) -> tuple[StateLog, IdentityService, int]:
    """The open log, an identity service backed by it, and how many resources were restored.

    Raises ``StateError`` (one line, for the user) when the directory cannot be used.
    """
    log = StateLog(settings.state_dir, sync=settings.state_sync)
    try:
        restored = state.attach(plane, log)
        identity = IdentityService(settings, state=log)
    except BaseException:
        log.close()
        raise
    return log, identity, restored


__all__ = ["open_state"]
