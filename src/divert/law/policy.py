"""Policy packs: schema, loading with file/line errors, dated parameters, compiled stage rules.

A pack is the YAML folder `policies/<code>/` described in docs/packs.md. Loading validates every
file with pydantic, compiles every condition with the rule language, and reports the first problem
as one line naming the file, the line and the field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from divert.errors import InputError, PackError
from divert.law.catalogue import CATALOGUE, STAGE_NAMES, Measure, MeasureEntry, measure_of
from divert.law.cutoffs import ScreeningCutoffs, TriageConfig
from divert.law.rules import Condition, ParamSpec, compile_condition, truth_value
from divert.law.vocabulary import FIELDS, STAGES
from divert.law.yaml_source import line_of, validate_model
from divert.law.yaml_source import read_yaml as read_yaml  # re-exported: packs, cases, targets

Provenance = Literal["verified", "unverified", "fitted"]
"""`fitted`: a practice value set by `divert calibrate` from cited targets (not read in a source)."""
POLICIES_DIR = Path(__file__).resolve().parents[3] / "policies"


def policies_root() -> Path:
    """Where packs live: $DIVERT_POLICIES if set, else the repository's policies/ folder."""
    return Path(os.environ.get("DIVERT_POLICIES") or POLICIES_DIR)
PACK_FILES = ("pack.yaml", "parameters.yaml", "practice.yaml", "measures.yaml",
              *(f"{s}.yaml" for s in STAGES), "cases.yaml")


# --- schema ---------------------------------------------------------------------------------------


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class InForce(Strict):
    start: date | None = Field(None, alias="from")
    end: date | None = Field(None, alias="to")

    def covers(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day < self.end)


class Original(Strict):
    """The law's own words in its own language beside the English statement: the official title
    and, where it was read, the article's wording; where it was read (`source`, required) and
    whether the words were read there (`verified`) or not."""

    language: str = Field(pattern=r"^[a-z]{2}$")
    title: str = Field(min_length=1)
    text: str | None = Field(None, min_length=1)
    source: str = Field(min_length=1)
    provenance: Literal["verified", "unverified"]

    @field_validator("title", "text", "source", mode="before")
    @classmethod
    def _not_blank(cls, v: Any) -> Any:
        """Blank words are no words: "  " is refused as "" is (where was this read?)."""
        return v.strip() if isinstance(v, str) else v


class LegalBasis(Strict):
    """The law a rule encodes: citation, a short statement, optional link, provenance, the
    dates the cited text is law (absent: whenever the rule is in force) and, where it could be
    sourced, the law's original-language text (`original`)."""

    citation: str = Field(min_length=1)
    text: str = Field(min_length=1)
    url: str | None = None
    provenance: Provenance
    in_force: InForce = InForce()
    original: list[Original] = []

    @field_validator("original", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, Mapping) else v

    def plain(self, **kwargs: Any) -> dict[str, Any]:
        """As plain data (`model_dump`), without `original` when the pack gives none."""
        out = self.model_dump(**kwargs)
        if not self.original:
            out.pop("original", None)
        return out


class ConditionSpec(Strict):
    test: str = Field(min_length=1)
    label: str | None = None


def _conditions(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str | Mapping):
        value = [value]
    return [{"test": v} if isinstance(v, str) else v for v in value]


class _Conditional(Strict):
    """What a measure and a bar share: `when`/`unless` conditions given one or as a list, and one
    legal basis or several."""

    @field_validator("when", "unless", mode="before", check_fields=False)
    @classmethod
    def _norm_conditions(cls, v: Any) -> Any:
        return _conditions(v)

    @field_validator("legal_basis", mode="before", check_fields=False)
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, Mapping) else v


class MeasureSpec(_Conditional):
    """One measure a stage offers, as written in a stage file."""

    id: str
    label: str | None = None
    in_force: InForce = InForce()
    when: list[ConditionSpec] = []
    unless: list[ConditionSpec] = []
    precedence_over: list[str] = []
    consent_required: bool
    discretionary: bool = False
    legal_basis: list[LegalBasis] = Field(min_length=1)
    notes: str | None = None



class StageFile(Strict):
    stage: str | None = None
    measures: list[MeasureSpec] = []


Scalar = float | bool


class ParameterSpec(Strict):
    """A dated parameter: value by effective date, unit, citation, provenance."""

    description: str | None = None
    unit: str | None = None
    keys: str | None = None
    citation: str = Field(min_length=1)
    url: str | None = None
    provenance: Provenance
    values: dict[date, bool | float | dict[str, float]] = Field(min_length=1)
    uncertainty: dict[str, Any] | None = None

    @field_validator("keys")
    @classmethod
    def _keys_in_vocabulary(cls, v: str | None) -> str | None:
        if v is not None and v != "measure" and (v not in FIELDS or FIELDS[v].type != "category"):
            cats = [n for n, f in FIELDS.items() if f.type == "category"]
            raise ValueError(f"keys must name a category field or `measure`; allowed: "
                             f"{', '.join(cats)}, measure")
        return v


class Source(Strict):
    citation: str
    url: str | None = None
    note: str | None = None


class BarSpec(_Conditional):
    """A named, cited rule of pack.yaml that bars measures of any stage when it holds.

    Bars carry law that cuts across measures: the age of criminal majority (adult sentences
    barred for children), who may not be whipped, a seriousness test (alternatives to conviction
    only for offences of a minor nature), a mandatory minimum (no probation). A bar holds when
    all its `when` conditions hold and none of its `unless` conditions does.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    in_force: InForce = InForce()
    when: list[ConditionSpec] = []
    unless: list[ConditionSpec] = []
    measures: list[str] = Field(min_length=1)
    legal_basis: list[LegalBasis] = Field(min_length=1)
    notes: str | None = None


    @field_validator("measures")
    @classmethod
    def _in_catalogue(cls, v: list[str]) -> list[str]:
        for m in v:
            if m not in CATALOGUE:
                raise ValueError(f"{m!r} is not a catalogue measure; allowed: "
                                 f"{', '.join(CATALOGUE)}")
        return v


class LexMitiorSpec(Strict):
    """A later, more lenient law that applies to offences committed before it (lex mitior).

    `applies_to: pending` reaches cases not yet finally judged (police, prosecution and court
    stages); `final` reaches final sentences too (the post-sentence stage as well). `when`
    limits the law to the cases it makes more lenient (e.g. offences involving cocaine base).
    """

    law: str = Field(min_length=1)
    start: date = Field(alias="from")
    applies_to: Literal["pending", "final"] = "pending"
    when: list[ConditionSpec] = []
    legal_basis: list[LegalBasis] = Field(min_length=1)
    notes: str | None = None

    @field_validator("when", mode="before")
    @classmethod
    def _norm_conditions(cls, v: Any) -> Any:
        return _conditions(v)

    @field_validator("legal_basis", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, Mapping) else v


class PackMeta(Strict):
    """pack.yaml: the jurisdiction, its cut-offs, bars on measures and lex mitior laws."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    summary: str = ""
    currency: str | None = None
    triage: dict[str, Any] | None = None
    screening: dict[str, Any] | None = None
    sources: list[Source] = []
    bars: list[BarSpec] = []
    lex_mitior: list[LexMitiorSpec] = []


class StageExpectation(Strict):
    eligible: list[str] | None = None
    recommended: str | None = "__unset__"
    not_eligible: list[str] = []


class Expectation(Strict):
    triage: dict[str, str] | None = None
    police: StageExpectation | None = None
    prosecution: StageExpectation | None = None
    court: StageExpectation | None = None
    post_sentence: StageExpectation | None = None


class ExampleCase(Strict):
    """An example case with its expected advice; pytest collects these."""

    name: str
    date: dt.date | None = None
    case: dict[str, Any]
    expect: Expectation


# --- compiled pack --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """A loaded parameter: its spec and values sorted by effective date."""

    name: str
    spec: ParameterSpec

    @cached_property
    def kind(self) -> Literal["number", "truth", "table"]:
        first = next(iter(self.spec.values.values()))
        if isinstance(first, Mapping):
            return "table"
        return "truth" if isinstance(first, bool) else "number"

    def at(self, day: date) -> Any:
        """The value in force on `day`, or None before the first effective date."""
        return value_at(self.spec.values, day)


def value_at(values: Mapping[date, Any], day: date) -> Any:
    """Of values by effective date, the one in force on `day`; None before the first date."""
    value = None
    for start in sorted(values):
        if start <= day:
            value = values[start]
    return value


@dataclass(frozen=True)
class Rule:
    """One version of a measure at a stage, with its compiled conditions."""

    stage: str
    spec: MeasureSpec
    when: tuple[Condition, ...]
    unless: tuple[Condition, ...]
    where: str
    measure: Measure

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def needs_consent(self) -> bool:
        """An alternative that applies only to a person who consents."""
        return self.spec.consent_required and self.measure.kind == "alternative"

    @property
    def label(self) -> str:
        return self.spec.label or self.measure.label

    @property
    def citations(self) -> list[str]:
        return [lb.citation for lb in self.spec.legal_basis]

    def legal_basis_at(self, day: date) -> list[LegalBasis]:
        """The legal bases that are law on `day` (all of them if none is dated for it)."""
        return basis_at(self.spec.legal_basis, day)

    @property
    def provenance(self) -> Provenance:
        """`verified` only when every legal basis of the rule is verified."""
        ok = all(lb.provenance == "verified" for lb in self.spec.legal_basis)
        return "verified" if ok else "unverified"


def basis_at(bases: Sequence[LegalBasis], day: date) -> list[LegalBasis]:
    """Legal bases in force on `day`; if none is, all of them (a rule always cites its law)."""
    chosen = [lb for lb in bases if lb.in_force.covers(day)]
    return chosen or list(bases)


@dataclass(frozen=True)
class LexMitior:
    """A compiled lex mitior law of pack.yaml: its spec and the conditions of its reach."""

    spec: LexMitiorSpec
    when: tuple[Condition, ...]

    def reaches(self, batch: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> int:
        """Truth code (0/1/2) of the law reaching the one case in `batch`."""
        result = 2
        for cond in self.when:
            result = min(result, int(cond.evaluate(batch, params, 1)[0]))
        return result


@dataclass(frozen=True)
class Bar:
    """A compiled bar of pack.yaml: its spec and conditions."""

    spec: BarSpec
    when: tuple[Condition, ...]
    unless: tuple[Condition, ...]
    where: str

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def provenance(self) -> Provenance:
        ok = all(lb.provenance == "verified" for lb in self.spec.legal_basis)
        return "verified" if ok else "unverified"

    def evaluate(self, batch: Mapping[str, np.ndarray], params: Mapping[str, Any],
                 size: int) -> np.ndarray:
        """Truth codes of the bar holding, for every element of the batch."""
        result = np.full(size, 2, dtype=np.int8)
        for cond in self.when:
            result = np.minimum(result, cond.evaluate(batch, params, size))
        for cond in self.unless:
            result = np.minimum(result, 2 - cond.evaluate(batch, params, size))
        return result.astype(np.int8)


_T = TypeVar("_T")


@dataclass
class Policy:
    """A loaded, validated and compiled policy pack."""

    code: str
    path: Path
    meta: PackMeta
    parameters: dict[str, Parameter]
    rules: dict[str, list[Rule]]
    examples: list[ExampleCase]
    example_lines: list[int] = field(default_factory=list)
    hash: str = ""
    practice: dict[str, Parameter] = field(default_factory=dict)
    overlays: list[str] = field(default_factory=list)
    measures: dict[str, Measure] = field(default_factory=lambda: dict(CATALOGUE))
    """The catalogue and the pack's own measures (measures.yaml), by id, in stage order."""
    bars: list[Bar] = field(default_factory=list)
    lex_mitior: list[LexMitior] = field(default_factory=list)

    def by_day(self, what: str, day: date, compute: Callable[[], _T]) -> _T:
        """`compute()`, remembered for this loaded pack by (`what`, `day`): a loaded pack does
        not change, and the simulation asks the same date's law several times a month. The memo
        is not a field, so `dataclasses.replace` (a pack with other practice) starts afresh."""
        memo: dict[tuple[str, date], Any] = self.__dict__.setdefault("_by_day", {})
        key = (what, day)
        if key not in memo:
            memo[key] = compute()
        return cast(_T, memo[key])

    def _rules_on(self, stage: str, day: date) -> list[Rule]:
        return self.by_day("rules:" + stage, day, lambda: [
            r for r in self.rules.get(stage, []) if r.spec.in_force.covers(day)])

    def _params_on(self, day: date) -> dict[str, Any]:
        return self.by_day("params", day, lambda: {
            name: p.at(day) for name, p in self.parameters.items()})

    def rules_in_force(self, stage: str, day: date) -> list[Rule]:
        """The version of each measure of `stage` that is in force on `day`, in file order."""
        return list(self._rules_on(stage, day))

    def bars_in_force(self, day: date, measure: str | None = None) -> list[Bar]:
        """The pack's bars in force on `day` (only those naming `measure`, if given)."""
        on = self.by_day("bars", day, lambda: [b for b in self.bars if b.spec.in_force.covers(day)])
        return [b for b in on if measure is None or measure in b.spec.measures]

    def params_at(self, day: date) -> dict[str, Any]:
        """Every parameter's value on `day` (None where not yet in force)."""
        return dict(self._params_on(day))

    def evaluate(self, stage: str, day: date, batch: Mapping[str, np.ndarray],
                 size: int) -> dict[str, np.ndarray]:
        """Eligibility truth codes of every measure in force at `stage` on `day`, for a batch.

        This is the one evaluation path: `decide()` calls it on a batch of one case and the
        simulation on everyone deciding in a month. Precedence is applied in file order; an
        alternative that needs consent takes precedence only for a person who consents (for one
        whose consent is unknown, the measures it would supersede are undetermined). The pack's
        bars apply before precedence (a barred measure is not open).
        """
        params = self._params_on(day)
        out: dict[str, np.ndarray] = {}
        rules = self._rules_on(stage, day)
        seen: dict[str, np.ndarray] = {}  # a condition several rules share is evaluated once

        def truth(cond: Condition) -> np.ndarray:
            if cond.text not in seen:
                seen[cond.text] = cond.evaluate(batch, params, size)
            return seen[cond.text]

        for rule in rules:
            result = np.full(size, 2, dtype=np.int8)
            for cond in rule.when:
                result = np.minimum(result, truth(cond))
            for cond in rule.unless:
                result = np.minimum(result, 2 - truth(cond))
            out[rule.id] = result.astype(np.int8)
        for bar in self.bars_in_force(day):
            barred = [m for m in bar.spec.measures if m in out]
            if barred:
                holds = bar.evaluate(batch, params, size)
                for m in barred:
                    out[m] = np.minimum(out[m], 2 - holds).astype(np.int8)
        for rule in rules:
            strength = self.precedence_strength(rule, out[rule.id], batch, size)
            for other in rule.spec.precedence_over:
                if other in out:
                    out[other] = np.minimum(out[other], 2 - strength).astype(np.int8)
        return out

    @staticmethod
    def precedence_strength(rule: Rule, truth: np.ndarray, batch: Mapping[str, np.ndarray],
                            size: int) -> np.ndarray:
        """How surely `rule` takes precedence: its truth, and the consent it needs, if any."""
        if not rule.needs_consent:
            return truth
        consent = batch.get("consent")
        codes = (np.full(size, 1, dtype=np.int8) if consent is None
                 else np.asarray(consent, dtype=np.int8))
        surely: np.ndarray = np.minimum(truth, codes)
        return surely

    def provenance_counts(self) -> dict[str, dict[str, int]]:
        """Counts of verified and unverified rules per stage (and parameters)."""
        counts: dict[str, dict[str, int]] = {}
        for stage, rules in self.rules.items():
            c = counts.setdefault(stage, {"verified": 0, "unverified": 0})
            for r in rules:
                c[r.provenance] += 1
        if self.bars:
            c = counts.setdefault("bars", {"verified": 0, "unverified": 0})
            for b in self.bars:
                c[b.provenance] += 1
        c = counts.setdefault("parameters", {"verified": 0, "unverified": 0})
        for p in self.parameters.values():
            c[p.spec.provenance] = c.get(p.spec.provenance, 0) + 1
        if self.practice:
            c = counts.setdefault("practice", {"verified": 0, "unverified": 0})
            for p in self.practice.values():
                c[p.spec.provenance] = c.get(p.spec.provenance, 0) + 1
        return counts


def param_specs(parameters: Mapping[str, Parameter]) -> dict[str, ParamSpec]:
    """What the rule compiler needs to know of each law parameter."""
    out = {}
    for name, p in parameters.items():
        if p.spec.keys == "measure":
            continue  # practice tables by measure are not for rules
        keys = FIELDS[p.spec.keys] if p.spec.keys else None
        out[name] = ParamSpec(name, p.kind, keys)
    return out


def _check_parameters(data: Any, params: dict[str, Parameter], path: Path,
                      measures: Mapping[str, Measure] | None = None) -> None:
    for name, p in params.items():
        where = f"{path}:{line_of(data, (name,))}"
        if name in FIELDS or "." in name:
            raise PackError(f"{name}: a parameter may not shadow a vocabulary name", where=where)
        kinds = {type(v).__name__ if not isinstance(v, Mapping) else "table"
                 for v in p.spec.values.values()}
        kinds = {"number" if k in ("int", "float") else k for k in kinds}
        if len(kinds) > 1:
            raise PackError(f"{name}.values: every date must give the same kind of value "
                            f"(got {', '.join(sorted(kinds))})", where=where)
        if p.kind == "table":
            if p.spec.keys is None:
                raise PackError(f"{name}.keys: a table needs `keys` naming its category field",
                                where=where)
            allowed = (tuple(measures or CATALOGUE) if p.spec.keys == "measure"
                       else FIELDS[p.spec.keys].values)
            for day, table in p.spec.values.items():
                assert isinstance(table, Mapping)
                for key, value in table.items():
                    if key not in allowed:
                        line = line_of(data, (name, "values", day, key))
                        raise PackError(f"{name}.values.{day}.{key}: not a value of "
                                        f"{p.spec.keys}; allowed: {', '.join(allowed)}",
                                        where=f"{path}:{line}")
                    if isinstance(value, float) and math.isnan(value):
                        raise PackError(f"{name}.values.{day}.{key}: NaN is not a value",
                                        where=where)


def _compile_stage(stage: str, data: Any, spec: StageFile, params: dict[str, ParamSpec],
                   path: Path, catalogue: Mapping[str, Measure]) -> list[Rule]:
    rules: list[Rule] = []
    for i, m in enumerate(spec.measures):
        where_m = f"{path}:{line_of(data, ('measures', i))}"
        if m.id not in catalogue:
            raise PackError(f"measures[{i}].id: {m.id!r} is not a catalogue measure; allowed: "
                            f"{', '.join(x.id for x in catalogue.values() if x.stage == stage)}",
                            where=f"{path}:{line_of(data, ('measures', i, 'id'))}")
        measure = catalogue[m.id]
        if measure.stage != stage:
            raise PackError(f"measures[{i}].id: {m.id!r} belongs to the {measure.stage} stage, "
                            f"not {stage}", where=where_m)
        if measure.involves_treatment and measure.kind != "coercive" and not m.consent_required:
            raise PackError(f"measures[{i}].consent_required: {m.id} places a person in "
                            "treatment, which needs informed consent; set it to true",
                            where=where_m)
        compiled: dict[str, list[Condition]] = {"when": [], "unless": []}
        for part in ("when", "unless"):
            for j, cond in enumerate(getattr(m, part)):
                line = line_of(data, ("measures", i, part, j))
                compiled[part].append(compile_condition(
                    cond.test, params, where=f"{path}:{line}: measures[{i}].{part}[{j}]",
                    label=cond.label))
        for j, other in enumerate(m.precedence_over):
            if other not in catalogue or catalogue[other].stage != stage:
                line = line_of(data, ("measures", i, "precedence_over", j))
                raise PackError(f"measures[{i}].precedence_over[{j}]: {other!r} is not a "
                                f"{stage} measure", where=f"{path}:{line}")
        for earlier in rules:
            if earlier.id == m.id and _overlap(earlier.spec.in_force, m.in_force):
                raise PackError(f"measures[{i}]: {m.id} is already defined for an overlapping "
                                f"in_force window (at {earlier.where}); give each version "
                                "non-overlapping from/to dates", where=where_m)
        start, end = m.in_force.start, m.in_force.end
        if start is not None and end is not None and end <= start:
            raise PackError(f"measures[{i}].in_force: `to` must be after `from`", where=where_m)
        rules.append(Rule(stage, m, tuple(compiled["when"]), tuple(compiled["unless"]), where_m,
                          measure))
    _check_precedence_cycles(rules, path)
    return rules


def _compile_bars(meta: PackMeta, data: Any, params: dict[str, ParamSpec],
                  path: Path) -> list[Bar]:
    bars: list[Bar] = []
    for i, b in enumerate(meta.bars):
        where_b = f"{path}:{line_of(data, ('bars', i))}"
        for earlier in bars:
            if earlier.id == b.id and _overlap(earlier.spec.in_force, b.in_force):
                raise PackError(f"bars[{i}]: {b.id} is already defined for an overlapping "
                                f"in_force window (at {earlier.where}); give each version "
                                "non-overlapping from/to dates", where=where_b)
        compiled: dict[str, list[Condition]] = {"when": [], "unless": []}
        for part in ("when", "unless"):
            for j, cond in enumerate(getattr(b, part)):
                line = line_of(data, ("bars", i, part, j))
                compiled[part].append(compile_condition(
                    cond.test, params, where=f"{path}:{line}: bars[{i}].{part}[{j}]",
                    label=cond.label))
        bars.append(Bar(b, tuple(compiled["when"]), tuple(compiled["unless"]), where_b))
    return bars


def _overlap(a: InForce, b: InForce) -> bool:
    lo_a, hi_a = a.start or date.min, a.end or date.max
    lo_b, hi_b = b.start or date.min, b.end or date.max
    return lo_a < hi_b and lo_b < hi_a


def _check_precedence_cycles(rules: list[Rule], path: Path) -> None:
    graph: dict[str, set[str]] = {}
    for r in rules:
        graph.setdefault(r.id, set()).update(r.spec.precedence_over)

    def visit(node: str, stack: tuple[str, ...]) -> None:
        if node in stack:
            cycle = " -> ".join((*stack[stack.index(node):], node))
            raise PackError(f"precedence_over forms a cycle: {cycle}", where=str(path))
        for nxt in graph.get(node, ()):
            visit(nxt, (*stack, node))

    for start in graph:
        visit(start, ())


def pack_hash(path: Path) -> str:
    """SHA-256 over the pack's files (names and bytes), so a result can name the exact pack."""
    digest = hashlib.sha256()
    for name in PACK_FILES:
        f = path / name
        if f.exists():
            digest.update(name.encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()


class Overlay(Protocol):
    """A scenario overlay: a data change applied to a pack's raw files before they are compiled."""

    name: str
    hash: str

    def apply(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The pack's raw file data (file name -> YAML data) with the overlay applied."""
        ...


def read_pack_files(path: Path) -> dict[str, Any]:
    """The raw YAML data of each file of a pack folder, by file name (absent files omitted)."""
    path = Path(path)
    if not path.is_dir():
        raise PackError("not a pack folder (expected policies/<code>/ with pack.yaml)",
                        where=str(path))
    if not (path / "pack.yaml").exists():
        raise PackError("missing pack.yaml", where=str(path))
    return {name: _load(path / name) for name in PACK_FILES if (path / name).exists()}


def parse_parameters(data: Any, file: Path,
                     measures: Mapping[str, Measure] | None = None) -> dict[str, Parameter]:
    """Validate a parameters (or practice) mapping; errors name file, line and field."""
    params: dict[str, Parameter] = {}
    data = data or {}
    if not isinstance(data, Mapping):
        raise PackError("expected a mapping of parameter names", where=str(file))
    for name, spec in data.items():
        params[str(name)] = Parameter(str(name), validate_model(ParameterSpec, spec, file, (name,)))
    _check_parameters(data, params, file, measures)
    return params


def parse_measures(data: Any, file: Path) -> dict[str, Measure]:
    """The catalogue with a pack's own measures (`measures.yaml`: stage -> list of entries in the
    catalogue's schema, each with its effect); errors name file, line and field."""
    out = dict(CATALOGUE)
    if data is None:
        return out
    if not isinstance(data, Mapping):
        raise PackError("expected a mapping of stages to lists of measures", where=str(file))
    for stage, items in data.items():
        if stage not in STAGE_NAMES:
            raise PackError(f"{stage}: not a stage; allowed: {', '.join(STAGE_NAMES)}",
                            where=f"{file}:{line_of(data, (stage,))}")
        if not isinstance(items, list):
            raise PackError(f"{stage}: expected a list of measures",
                            where=f"{file}:{line_of(data, (stage,))}")
        for i, item in enumerate(items):
            entry = validate_model(MeasureEntry, item, file, (stage, i))
            where = f"{file}:{line_of(data, (stage, i))}"
            if entry.id in out:
                raise PackError(f"{stage}[{i}].id: {entry.id!r} is already a catalogue measure; "
                                "a pack adds new ids only", where=where)
            try:
                out[entry.id] = measure_of(entry, str(stage))
            except ValueError as exc:
                raise PackError(f"{stage}[{i}].{exc}", where=where) from None
    return out


def load_pack(path: Path | str, overlays: Sequence[Overlay] = ()) -> Policy:
    """Load, validate and compile the pack in folder `path`, with any scenario overlays applied.

    PackError names the file, the line and the field of the first problem.
    """
    path = Path(path)
    raw = read_pack_files(path)
    for overlay in overlays:
        raw = overlay.apply(raw)
    meta_file = path / "pack.yaml"
    meta_data = raw["pack.yaml"]
    meta = validate_model(PackMeta, meta_data, meta_file)
    if meta.code != path.name:
        raise PackError(f"code: {meta.code!r} must equal the folder name {path.name!r}",
                        where=f"{meta_file}:{line_of(meta_data, ('code',))}")
    _check_cutoffs(meta, meta_data, meta_file)

    measures = parse_measures(raw.get("measures.yaml"), path / "measures.yaml")
    params = parse_parameters(raw.get("parameters.yaml"), path / "parameters.yaml", measures)
    practice = parse_parameters(raw.get("practice.yaml"), path / "practice.yaml", measures)
    from divert.law.practice_schema import check_practice

    check_practice(practice, raw.get("practice.yaml"), path / "practice.yaml", measures)
    clash = sorted(set(params) & set(practice))
    if clash:
        raise PackError(f"{clash[0]}: defined in both parameters.yaml and practice.yaml",
                        where=str(path / "practice.yaml"))
    specs = param_specs(params)

    rules: dict[str, list[Rule]] = {}
    for stage in STAGES:
        stage_file = path / f"{stage}.yaml"
        data = raw.get(f"{stage}.yaml")
        if data is None:
            rules[stage] = []
            continue
        spec = validate_model(StageFile, data, stage_file)
        if spec.stage is not None and spec.stage != stage:
            raise PackError(f"stage: {spec.stage!r} does not match the file name",
                            where=str(stage_file))
        rules[stage] = _compile_stage(stage, data, spec, specs, stage_file, measures)

    examples: list[ExampleCase] = []
    lines: list[int] = []
    case_file = path / "cases.yaml"
    data = raw.get("cases.yaml") or []
    if not isinstance(data, list):
        raise PackError("expected a list of example cases", where=str(case_file))
    for i, item in enumerate(data):
        examples.append(validate_model(ExampleCase, item, case_file, (i,)))
        lines.append(line_of(data, (i,)) or 0)
    digest = pack_hash(path)
    if overlays:
        digest = hashlib.sha256((digest + "".join(o.hash for o in overlays)).encode()).hexdigest()
    bars = _compile_bars(meta, meta_data, specs, meta_file)
    mitior = [LexMitior(law, tuple(
        compile_condition(c.test, specs, label=c.label,
                          where=f"{meta_file}:{line_of(meta_data, ('lex_mitior', i, 'when', j))}: "
                                f"lex_mitior[{i}].when[{j}]")
        for j, c in enumerate(law.when))) for i, law in enumerate(meta.lex_mitior)]
    policy = Policy(meta.code, path, meta, params, rules, examples, lines, digest,
                    practice=practice, overlays=[o.name for o in overlays], measures=measures,
                    bars=bars, lex_mitior=mitior)
    _check_example_measures(policy, data, case_file)
    return policy


def _check_cutoffs(meta: PackMeta, data: Any, path: Path) -> None:
    if meta.triage is not None:
        validate_model(TriageConfig, data["triage"], path, ("triage",))
    if meta.screening is not None:
        validate_model(ScreeningCutoffs, data["screening"], path, ("screening",))


def _check_example_measures(policy: Policy, data: Any, path: Path) -> None:
    for i, ex in enumerate(policy.examples):
        for stage in STAGES:
            exp = getattr(ex.expect, stage)
            if exp is None:
                continue
            named = [*(exp.eligible or []), *exp.not_eligible]
            if exp.recommended not in (None, "__unset__"):
                named.append(exp.recommended)
            for m in named:
                if m not in policy.measures or policy.measures[m].stage != stage:
                    line = line_of(data, (i, "expect", stage))
                    raise PackError(f"[{i}].expect.{stage}: {m!r} is not a {stage} measure",
                                    where=f"{path}:{line}")


def _load(path: Path) -> Any:
    try:
        return read_yaml(path)
    except InputError as exc:
        raise PackError(str(exc)) from None


def pack_dirs(root: Path | None = None) -> list[Path]:
    """Every pack folder under `root`, sorted by code."""
    root = root or policies_root()
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / "pack.yaml").exists())


_CACHE: dict[tuple[Path, str], Policy] = {}


def load(code: str, root: Path | None = None) -> Policy:
    """The pack called `code` from the policies folder (cached per pack hash)."""
    root = root or policies_root()
    path = root / code
    if not (path / "pack.yaml").exists():
        known = ", ".join(p.name for p in pack_dirs(root)) or "none"
        raise InputError(f"unknown jurisdiction {code!r}; allowed: {known}")
    key = (path.resolve(), pack_hash(path))
    if key not in _CACHE:
        _CACHE[key] = load_pack(path)
    return _CACHE[key]


def iter_packs(root: Path | None = None) -> Iterator[Policy]:
    """Every pack, loaded."""
    root = root or policies_root()
    for p in pack_dirs(root):
        yield load(p.name, root)


__all__ = [
    "Policy", "Rule", "Bar", "basis_at", "Parameter", "load", "load_pack", "iter_packs",
    "pack_dirs", "read_yaml", "truth_value",
]
