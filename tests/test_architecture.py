"""The layers of docs/architecture.md hold: imports only go downward, no circle inside a layer.

The contracts are import-linter's, in pyproject.toml ([tool.importlinter]); this test runs them so
`make test` fails on an upward import (say, the law importing the advice) or a new import circle.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from importlinter import cli

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "divert"


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(config["tool"]["importlinter"]["contracts"])


def test_import_contracts_are_kept() -> None:
    assert cli.lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_every_package_has_its_layer() -> None:
    """A new package must be placed in the layers, else nothing would check its imports."""
    layers = next(c for c in _contracts() if c["type"] == "layers")["layers"]
    named = {part.strip() for layer in layers for part in str(layer).replace(":", "|").split("|")}
    packages = {f"divert.{p.name}" for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    modules = {f"divert.{p.stem}" for p in PACKAGE.glob("*.py")} - {"divert.__init__"}
    assert packages - named == set()
    assert modules - named == {"divert.errors"}  # the errors every layer raises, below them all


def test_every_layer_is_checked_for_circles() -> None:
    acyclic = next(c for c in _contracts() if c["type"] == "acyclic_siblings")["ancestors"]
    assert set(acyclic) == {"divert.law", "divert.advice", "divert.simulation", "divert.studies",
                            "divert.reports"}
