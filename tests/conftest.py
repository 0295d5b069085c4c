"""Shared fixtures: the small invented pack `testland` and a way to copy and break it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `divert ARGS` in-process: exit code, stdout, stderr."""
    from divert.cli import main

    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def testland_dir(tmp_path: Path) -> Path:
    """A writable copy of the testland pack, in a folder called testland."""
    target = tmp_path / "testland"
    shutil.copytree(FIXTURES / "testland", target)
    return target


@pytest.fixture
def fixtures_env(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point divert at the fixture packs (DIVERT_POLICIES)."""
    monkeypatch.setenv("DIVERT_POLICIES", str(FIXTURES))
    return FIXTURES
