"""The README's import graph, enforced: every import-linter contract in pyproject.toml holds.

The contracts (``[tool.importlinter]``) state the layering — ``model ← control ← api``,
``control.snapshot ← dataplane ← sim ← analysis ← api``, scenarios through control, only the CLI
wiring layers — and that no two sibling modules import each other, at any depth, whether the
import sits at the top of a module or inside a function.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint_imports(*args: str) -> subprocess.CompletedProcess:
    """Run ``lint-imports`` on this checkout's sources (not whichever one is installed)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run([sys.executable, "-c", LINT, "--no-cache", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_every_import_contract_in_pyproject_is_kept():
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_broken_contract_fails_the_check(tmp_path):
    """The checker really looks: a contract today's code breaks (control imports model) is reported."""
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "xloudnet"\n\n'
        '[[tool.importlinter.contracts]]\nname = "control without model"\ntype = "forbidden"\n'
        'source_modules = ["xloudnet.control"]\nforbidden_modules = ["xloudnet.model"]\n')
    result = lint_imports("--config", str(config))
    assert result.returncode == 1
    assert "control without model BROKEN" in result.stdout
