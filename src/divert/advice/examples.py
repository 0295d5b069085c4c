"""Example cases of a pack: run them and compare the advice with what the pack expects.

Shared by `divert examples` (the main job for now), `divert policy validate` and the pytest
collector of `policies/*/cases.yaml`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from divert.advice.case import parse_case
from divert.advice.pathways import advise
from divert.errors import DivertError
from divert.law.policy import ExampleCase, Policy
from divert.law.vocabulary import STAGES


@dataclass
class ExampleRow:
    """One stage decision of one example case."""

    pack: str
    case: str
    date: str
    quadrant: str
    stage: str
    recommended: str | None
    eligible: list[str]
    ok: bool | None
    problems: list[str]

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def check_example(pack: Policy, example: ExampleCase) -> list[str]:
    """Differences between an example's expected advice and divert's; empty when they agree."""
    return [p for row in example_rows(pack, example) for p in row.problems]


def example_rows(pack: Policy, example: ExampleCase) -> list[ExampleRow]:
    """The advice on one example case, one row per stage, each checked against `expect`."""
    try:
        case = parse_case(example.case, f"{pack.path}/cases.yaml: {example.name}: case")
        advice = advise(case, pack, None, example.date)
    except DivertError as exc:
        return [ExampleRow(pack.code, example.name, "", "", "-", None, [], False, [str(exc)])]
    rows = []
    triage_problems = []
    for key, want in (example.expect.triage or {}).items():
        got = advice.triage.to_json().get(key)
        if got != want:
            triage_problems.append(f"triage.{key}: expected {want}, got {got}")
    for stage in STAGES:
        s = advice.stage(stage)
        exp = getattr(example.expect, stage)
        problems = list(triage_problems) if stage == STAGES[0] else []
        if exp is not None:
            if exp.eligible is not None and sorted(exp.eligible) != sorted(s.eligible):
                problems.append(f"{stage}: expected eligible {sorted(exp.eligible)}, "
                                f"got {sorted(s.eligible)}")
            for m in exp.not_eligible:
                if m in s.eligible:
                    problems.append(f"{stage}: expected {m} not eligible")
            if exp.recommended != "__unset__" and exp.recommended != s.recommended:
                problems.append(f"{stage}: expected recommended {exp.recommended}, "
                                f"got {s.recommended}")
        checked = exp is not None or bool(problems)
        rows.append(ExampleRow(pack.code, example.name, advice.date.isoformat(),
                               advice.triage.quadrant or "unknown", stage, s.recommended, s.eligible,
                               (not problems) if checked else None, problems))
    return rows


def run_examples(packs: list[Policy]) -> list[ExampleRow]:
    """Rows for every example case of every pack."""
    return [row for pack in packs for ex in pack.examples for row in example_rows(pack, ex)]
