"""Let the simulation tests reuse the data-plane topology builders; the job-API fixture."""

import sys
from pathlib import Path

import pytest

DATAPLANE = str(Path(__file__).resolve().parent.parent / "dataplane")
if DATAPLANE not in sys.path:
    sys.path.insert(0, DATAPLANE)


@pytest.fixture(scope="module")
def world():
    """A plane with two demo ports and an app serving only the simulation job routes."""
    from jobs_app import build_world
    return build_world()
