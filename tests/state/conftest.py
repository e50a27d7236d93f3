"""The state tests' server: ``xloudnet serve --state`` on a fresh directory, stopped at the end."""

from __future__ import annotations

import pytest
from state_helpers import StateServer


@pytest.fixture
def server(tmp_path):
    server = StateServer(tmp_path / "state")
    yield server
    server.stop()
