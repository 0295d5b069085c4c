"""Example cases of a pack: run them and compare the advice with what the pack expects.

Shared by `divert examples` (the main job for now), `divert policy validate` and the pytest
collector of `policies/*/cases.yaml`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from divert.advice.case import parse_case
from divert.advice.pathways import advise
from divert.advice.wording import Message, text
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
    #: the problems as messages, for a command to write in its language (not in the JSON)
    said: list[Message] = field(default_factory=list, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "said"}


#: how a difference from the expected advice is written (English; the command line's catalogue
#: translates them, divert.cli marks them): ids, measures and values as they are
TRIAGE_DIFFERS = "triage.%(key)s: expected %(expected)s, got %(got)s"
ELIGIBLE_DIFFERS = "%(stage)s: expected eligible %(expected)s, got %(got)s"
NOT_ELIGIBLE = "%(stage)s: expected %(measure)s not eligible"
RECOMMENDED_DIFFERS = "%(stage)s: expected recommended %(expected)s, got %(got)s"
PROBLEMS = (TRIAGE_DIFFERS, ELIGIBLE_DIFFERS, NOT_ELIGIBLE, RECOMMENDED_DIFFERS)


def check_example(pack: Policy, example: ExampleCase) -> list[str]:
    """Differences between an example's expected advice and divert's; empty when they agree."""
    return [p for row in example_rows(pack, example) for p in row.problems]


def example_problems(pack: Policy, example: ExampleCase) -> list[Message]:
    """The differences of `check_example` as messages (the command writes them in its language)."""
    return [m for row in example_rows(pack, example) for m in row.said]


def example_rows(pack: Policy, example: ExampleCase) -> list[ExampleRow]:
    """The advice on one example case, one row per stage, each checked against `expect`."""
    try:
        case = parse_case(example.case, f"{pack.path}/cases.yaml: {example.name}: case")
        advice = advise(case, pack, None, example.date)
    except DivertError as exc:
        return [ExampleRow(pack.code, example.name, "", "", "-", None, [], False, [str(exc)],
                           [Message(str(exc))])]
    rows = []
    triage_problems = []
    for key, want in (example.expect.triage or {}).items():
        got = advice.triage.to_json().get(key)
        if got != want:
            triage_problems.append(Message(TRIAGE_DIFFERS, {"key": key, "expected": str(want),
                                                            "got": str(got)}))
    for stage in STAGES:
        s = advice.stage(stage)
        exp = getattr(example.expect, stage)
        problems = list(triage_problems) if stage == STAGES[0] else []
        if exp is not None:
            if exp.eligible is not None and sorted(exp.eligible) != sorted(s.eligible):
                problems.append(Message(ELIGIBLE_DIFFERS, {
                    "stage": stage, "expected": str(sorted(exp.eligible)),
                    "got": str(sorted(s.eligible))}))
            for m in exp.not_eligible:
                if m in s.eligible:
                    problems.append(Message(NOT_ELIGIBLE, {"stage": stage, "measure": m}))
            if exp.recommended != "__unset__" and exp.recommended != s.recommended:
                problems.append(Message(RECOMMENDED_DIFFERS, {
                    "stage": stage, "expected": str(exp.recommended),
                    "got": str(s.recommended)}))
        checked = exp is not None or bool(problems)
        rows.append(ExampleRow(pack.code, example.name, advice.date.isoformat(),
                               advice.triage.quadrant or "unknown", stage, s.recommended, s.eligible,
                               (not problems) if checked else None,
                               [text(m) for m in problems], problems))
    return rows


def run_examples(packs: list[Policy]) -> list[ExampleRow]:
    """Rows for every example case of every pack."""
    return [row for pack in packs for ex in pack.examples for row in example_rows(pack, ex)]
