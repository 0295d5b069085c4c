"""Collect each pack's example cases (policies/<code>/cases.yaml) as pytest test cases."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.name == "cases.yaml" and file_path.parent.parent.name == "policies":
        return PackCases.from_parent(parent, path=file_path)
    return None


class PackCases(pytest.File):
    """The example cases of one pack."""

    def collect(self):  # type: ignore[override]
        from divert.law.policy import load_pack

        pack = load_pack(self.path.parent)
        for example, line in zip(pack.examples, pack.example_lines, strict=True):
            yield ExampleItem.from_parent(self, name=example.name, pack=pack, example=example,
                                          line=line)


class ExampleItem(pytest.Item):
    """One example case: its advice must equal the expected advice."""

    def __init__(self, *, pack, example, line, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(**kwargs)
        self.pack, self.example, self.line = pack, example, line

    def runtest(self) -> None:
        from divert.advice.examples import check_example

        problems = check_example(self.pack, self.example)
        if problems:
            raise ExampleMismatch(problems)

    def repr_failure(self, excinfo, style=None):  # type: ignore[no-untyped-def]
        if isinstance(excinfo.value, ExampleMismatch):
            return f"{self.path}:{self.line}: {self.name}\n  " + "\n  ".join(excinfo.value.args[0])
        return super().repr_failure(excinfo)

    def reportinfo(self):  # type: ignore[no-untyped-def]
        return self.path, self.line, f"example: {self.name}"


class ExampleMismatch(Exception):
    """The advice on an example case differs from what the pack expects."""
