"""Scenario tests: a file made of the base topology plus what the test is about."""

from pathlib import Path

import pytest
from scenario_cases import BASE


@pytest.fixture
def scenario_file(tmp_path):
    """``scenario_file(extra_yaml, base=BASE)`` → the path of a file holding both."""

    def make(extra: str = "", base: str = BASE, name: str = "case.yaml") -> Path:
        path = tmp_path / name
        path.write_text(base + extra)
        return path

    return make
