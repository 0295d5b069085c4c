"""Scenario overlays: a reform written as data and applied to a pack's raw files before compilation.

A scenario is one YAML file (format in docs/scenarios.md) with a title and a list of `changes`, each
naming one operation (set a parameter, add, replace or remove a measure, change the date a rule is
in force, move a date of the law, set capacities or weights), its citation and its rationale. It
implements the `Overlay` protocol of `divert.law.policy`: `apply()` returns a changed deep copy of the
pack's raw file data and never touches its input, so the law is still compiled by one loader.
Errors name the overlay file, the line and the field, and say what is allowed.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from divert.errors import InputError, PackError
from divert.law.catalogue import CATALOGUE, measures_of
from divert.law.policy import (
    MeasureSpec,
    ParameterSpec,
    Policy,
    Provenance,
    Strict,
    load_pack,
    pack_dirs,
    param_specs,
    parse_parameters,
    policies_root,
)
from divert.law.practice import DEFAULTS
from divert.law.rules import compile_condition
from divert.law.vocabulary import FIELDS, STAGES
from divert.law.yaml_source import error_message, line_of, loc_text, read_yaml, validate_model

StageName = Literal["police", "prosecution", "court", "post_sentence"]
Value = bool | float | dict[str, float]
EARLIEST = date(1900, 1, 1)
"""The effective date given to a value set without `from` on a parameter that has no dates yet."""


# --- the overlay file -----------------------------------------------------------------------------


class ScenarioFile(Strict):
    """The top level of a scenario file."""

    title: str = Field(min_length=1)
    summary: str | None = None
    pack: str | None = None
    changes: list[Any]


class _Change(Strict):
    citation: str = Field(min_length=1)
    rationale: str | None = None


class _Dated(_Change):
    start: date | None = Field(None, alias="from")


class SetParameter(_Dated):
    """Set a law or practice parameter's value (whole) or some entries of a table, from a date."""

    set_parameter: str
    value: Value | None = None
    entries: dict[str, float] | None = None
    provenance: Provenance = "unverified"


class AddParameter(_Change):
    """A new law parameter, written as in parameters.yaml."""

    add_parameter: str
    description: str | None = None
    unit: str | None = None
    keys: str | None = None
    provenance: Provenance = "unverified"
    values: dict[date, Value] = Field(min_length=1)
    uncertainty: dict[str, Any] | None = None


class _MeasureChange(_Dated):
    stage: StageName | None = None


class AddMeasure(_MeasureChange):
    """A new measure (or a new dated version of one), written as in a stage file."""

    add_measure: str
    measure: dict[str, Any]
    before: str | None = None
    after: str | None = None


class ReplaceMeasure(_MeasureChange):
    """Replace every version of a measure (or, with `from`, the law from that date on)."""

    replace_measure: str
    measure: dict[str, Any] | None = None
    versions: list[dict[str, Any]] | None = None


class RemoveMeasure(_MeasureChange):
    """Remove a measure (or, with `from`, abolish it from that date)."""

    remove_measure: str


class SetInForce(_Change):
    """Change the dates one version of a measure is in force."""

    set_in_force: str
    stage: StageName | None = None
    version: date | None = None
    start: date | None = Field(None, alias="from")
    end: date | None = Field(None, alias="to")


class MoveDate(_Change):
    """Every rule and parameter of the pack that takes effect (or ends) on one date moves to another."""

    move_date: date
    new_date: date


class SetCapacity(_Dated):
    """Places in measures (practice parameter measure_capacity)."""

    set_capacity: dict[str, float]


class SetWeight(_Dated):
    """Relative use of measures when open (practice parameter measure_weight)."""

    set_weight: dict[str, float]


class ScaleCapacity(_Dated):
    """Multiply places in measures by a factor (a measure without a capacity stays unlimited)."""

    scale_capacity: dict[str, float]


class ScaleWeight(_Dated):
    """Multiply the relative use of measures by a factor (a measure without a weight has 1)."""

    scale_weight: dict[str, float]


OPS: dict[str, type[_Change]] = {
    "set_parameter": SetParameter, "add_parameter": AddParameter, "add_measure": AddMeasure,
    "replace_measure": ReplaceMeasure, "remove_measure": RemoveMeasure,
    "set_in_force": SetInForce, "move_date": MoveDate, "set_capacity": SetCapacity,
    "set_weight": SetWeight, "scale_capacity": ScaleCapacity, "scale_weight": ScaleWeight,
}
"""Every operation a change may name, by its key."""


@dataclass
class Change:
    """One validated change with its place in the overlay file."""

    index: int
    op: str
    spec: Any  # one of the models in OPS
    data: Any  # the change's YAML mapping (with line information)


# --- helpers --------------------------------------------------------------------------------------


def _plain(data: Any) -> Any:
    """YAML data as plain dicts and lists (so no overlay line is mistaken for a pack line)."""
    if isinstance(data, Mapping):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data


def _put(mapping: Any, key: Any, value: Any) -> None:
    """Set `mapping[key]`; a new key of YAML data gets the mapping's own line (the loader asks)."""
    new = key not in mapping
    mapping[key] = value
    lc = getattr(mapping, "lc", None)
    if new and lc is not None:
        line, col = lc.line or 0, lc.col or 0
        lc.add_kv_line_col(key, [line, col, line, col])


def _splice(seq: list[Any], start: int, count: int, items: list[Any]) -> None:
    """Replace `seq[start:start + count]` by `items`, keeping the line of every other entry."""
    lc = getattr(seq, "lc", None)
    old = dict(lc.data or {}) if lc is not None else None
    list.__setitem__(seq, slice(start, start + count), items)
    if lc is not None and old is not None:
        n = len(items)
        new = {i if i < start else i - count + n: pos for i, pos in old.items()
               if i < start or i >= start + count}
        for k in range(n):
            new[start + k] = [lc.line or 0, lc.col or 0]
        lc.data = new


def _covers(in_force: Any, day: date) -> bool:
    lo, hi = _window(in_force)
    return lo <= day < hi


def _window(in_force: Any) -> tuple[date, date]:
    in_force = in_force or {}
    return in_force.get("from") or date.min, in_force.get("to") or date.max


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "table"
    return "true/false" if isinstance(value, bool) else "number"


def _show(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _value_at(values: Mapping[date, Any], day: date) -> Any:
    found = None
    for start in sorted(values):
        if start <= day:
            found = values[start]
    return found


_PRACTICE_OPS = ("set_capacity", "set_weight", "scale_capacity", "scale_weight")


# --- the overlay ----------------------------------------------------------------------------------


@dataclass
class ScenarioOverlay:
    """A scenario overlay loaded from a YAML file (see docs/scenarios.md)."""

    name: str
    hash: str
    path: Path
    title: str
    summary: str | None
    pack: str | None
    changes: list[Change]
    data: Any = field(repr=False, default=None)

    # errors ------------------------------------------------------------------------------------

    def error(self, change: Change | None, fld: str, message: str) -> PackError:
        """A PackError naming this file, the line of `fld` inside `change`, and the field."""
        if change is None:
            line = line_of(self.data, (fld,))
            return PackError(f"{fld}: {message}", where=f"{self.path}:{line}")
        loc: tuple[Any, ...] = ("changes", change.index)
        for part in fld.replace("[", ".").replace("]", "").split("."):
            if part:
                loc += (int(part) if part.isdigit() else part,)
        line = line_of(self.data, loc)
        return PackError(f"changes[{change.index}].{fld}: {message}", where=f"{self.path}:{line}")

    # the Overlay protocol ----------------------------------------------------------------------

    def apply(self, raw: dict[str, Any]) -> dict[str, Any]:
        """A deep copy of the pack's raw file data with every change applied in order."""
        out = copy.deepcopy(dict(raw))
        code = (out.get("pack.yaml") or {}).get("code")
        if self.pack is not None and code != self.pack:
            raise self.error(None, "pack", f"this scenario is written for {self.pack!r}, not "
                                           f"{code!r}")
        added: list[tuple[Change, str, Any]] = []
        for change in self.changes:
            handler = getattr(self, f"_apply_{change.op}")
            result = handler(out, change)
            if result:
                added.extend((change, fld, spec) for fld, spec in result)
        self._check_conditions(out, added)
        return out

    def describe(self) -> list[str]:
        """What the scenario changes in the law and in practice, one plain sentence per change."""
        lines = []
        for change in self.changes:
            text = getattr(self, f"_describe_{change.op}")(change.spec)
            why = f": {change.spec.rationale.strip()}" if change.spec.rationale else ""
            lines.append(f"{text}{why} [{change.spec.citation.strip()}]")
        return lines

    def law_effective_from(self) -> date | None:
        """The earliest date from which the scenario changes the law (rules or law parameters).

        None when some change to the law has no date (it rewrites the law at every date) or when
        the scenario changes only practice. Advice on a date before this is unchanged.
        """
        dates: list[date] = []
        undated = False
        for c in self.changes:
            s = c.spec
            if c.op in _PRACTICE_OPS:
                continue
            if c.op == "set_parameter" and s.set_parameter in DEFAULTS:
                continue
            if c.op == "add_parameter":
                dates.append(min(s.values))
                continue
            if c.op == "move_date":
                dates.append(min(s.move_date, s.new_date))
                continue
            if c.op == "set_in_force":
                given = [d for d in (s.start, s.end) if d is not None]
                undated = undated or not given
                dates.extend(given)
                continue
            start = s.start
            if start is None and c.op == "add_measure":
                start = (s.measure.get("in_force") or {}).get("from")
            if start is None:
                undated = True
            else:
                dates.append(start)
        if undated or not dates:
            return None
        return min(dates)

    # stage files -------------------------------------------------------------------------------

    def _stage(self, change: Change, mid: str, fld: str) -> str:
        stage = change.spec.stage or CATALOGUE[mid].stage
        if CATALOGUE[mid].stage != stage:
            raise self.error(change, fld, f"{mid!r} is a {CATALOGUE[mid].stage} measure, not a "
                                          f"{stage} one")
        return stage

    def _measures(self, raw: dict[str, Any], stage: str) -> list[Any]:
        name = f"{stage}.yaml"
        data = raw.get(name)
        if data is None:
            data = raw[name] = {"measures": []}
        if data.get("measures") is None:
            _put(data, "measures", [])
        measures: list[Any] = data["measures"]
        return measures

    def _versions(self, raw: dict[str, Any], change: Change, mid: str, fld: str,
                  stage: str) -> list[int]:
        measures = self._measures(raw, stage)
        found = [i for i, m in enumerate(measures) if isinstance(m, Mapping) and m.get("id") == mid]
        if not found:
            have = ", ".join(dict.fromkeys(str(m.get("id")) for m in measures)) or "none"
            raise self.error(change, fld, f"{mid!r} is not a measure of this pack's {stage}.yaml; "
                                          f"measures there: {have}")
        return found

    def _measure_spec(self, change: Change, node: Any, fld: str, mid: str, stage: str,
                      start: date | None) -> dict[str, Any]:
        """A measure as written in the overlay, completed and validated like a stage file entry."""
        if not isinstance(node, Mapping):
            raise self.error(change, fld, "expected a mapping: the measure as in a stage file")
        spec = _plain(node)
        if spec.setdefault("id", mid) != mid:
            raise self.error(change, f"{fld}.id", f"must be {mid!r} (the measure the change names)")
        spec = {"id": mid, **{k: v for k, v in spec.items() if k != "id"}}
        if "legal_basis" not in spec:
            if not change.spec.rationale:
                raise self.error(change, fld, "give the measure a legal_basis, or the change a "
                                              "rationale to state it")
            spec["legal_basis"] = [{"citation": change.spec.citation.strip(),
                                    "text": change.spec.rationale.strip(),
                                    "provenance": "unverified"}]
        if start is not None:
            if "in_force" in spec:
                raise self.error(change, f"{fld}.in_force", "give either the change's `from` or "
                                                            "the measure's in_force, not both")
            spec["in_force"] = {"from": start}
        try:
            model = MeasureSpec.model_validate(spec)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = tuple(err["loc"])
            line = line_of(node, loc)
            raise PackError(f"changes[{change.index}].{fld}.{loc_text(loc)}: {error_message(err)}",
                            where=f"{self.path}:{line}") from None
        lo, hi = model.in_force.start, model.in_force.end
        if lo is not None and hi is not None and hi <= lo:
            raise self.error(change, f"{fld}.in_force", "`to` must be after `from`")
        if model.in_force.start is not None or model.in_force.end is not None:
            spec["in_force"] = {k: v for k, v in (("from", lo), ("to", hi)) if v is not None}
        m = CATALOGUE[mid]
        if m.involves_treatment and m.kind != "coercive" and not spec.get("consent_required"):
            raise self.error(change, f"{fld}.consent_required", f"{mid} places a person in "
                                                               "treatment, which needs informed "
                                                               "consent; set it to true")
        for j, other in enumerate(spec.get("precedence_over") or []):
            if other not in CATALOGUE or CATALOGUE[other].stage != stage:
                raise self.error(change, f"{fld}.precedence_over[{j}]",
                                 f"{other!r} is not a {stage} measure; allowed: "
                                 + ", ".join(x.id for x in measures_of(stage)))
        return spec

    def _insert_position(self, raw: dict[str, Any], change: Change, mid: str,
                         stage: str) -> int:
        measures = self._measures(raw, stage)
        s = change.spec
        if s.before and s.after:
            raise self.error(change, "before", "give `before` or `after`, not both")
        anchor = s.before or s.after
        if anchor:
            fld = "before" if s.before else "after"
            idx = self._versions(raw, change, anchor, fld, stage)
            return idx[0] if s.before else idx[-1] + 1
        same = [i for i, m in enumerate(measures) if m.get("id") == mid]
        return same[-1] + 1 if same else len(measures)

    def _end_versions(self, raw: dict[str, Any], stage: str, idx: list[int],
                      start: date) -> list[int]:
        """End every version at `start`; drop those that begin on or after it. Kept indexes."""
        measures = self._measures(raw, stage)
        drop = []
        for i in idx:
            lo, hi = _window(measures[i].get("in_force"))
            if lo >= start:
                drop.append(i)
            elif hi > start:
                m = dict(measures[i])
                m["in_force"] = {**dict(measures[i].get("in_force") or {}), "to": start}
                measures[i] = m
        for i in reversed(drop):
            _splice(measures, i, 1, [])
        return [i - sum(1 for d in drop if d < i) for i in idx if i not in drop]

    def _apply_add_measure(self, raw: dict[str, Any], change: Change) -> list[tuple[str, Any]]:
        s: AddMeasure = change.spec
        mid = s.add_measure
        stage = self._stage(change, mid, "add_measure")
        spec = self._measure_spec(change, change.data["measure"], "measure", mid, stage, s.start)
        measures = self._measures(raw, stage)
        new_lo, new_hi = _window(spec.get("in_force"))
        for m in measures:
            if m.get("id") == mid:
                lo, hi = _window(m.get("in_force"))
                if lo < new_hi and new_lo < hi:
                    raise self.error(change, "add_measure",
                                     f"{mid} is already in this pack's {stage}.yaml for an "
                                     "overlapping period; use replace_measure (with `from` to "
                                     "change the law from a date) or non-overlapping dates")
        _splice(measures, self._insert_position(raw, change, mid, stage), 0, [spec])
        return [("measure", spec)]

    def _apply_replace_measure(self, raw: dict[str, Any],
                               change: Change) -> list[tuple[str, Any]]:
        s: ReplaceMeasure = change.spec
        mid = s.replace_measure
        stage = self._stage(change, mid, "replace_measure")
        if (s.measure is None) == (s.versions is None):
            raise self.error(change, "replace_measure", "give either `measure` (one version) or "
                                                        "`versions` (a list), not both or none")
        idx = self._versions(raw, change, mid, "replace_measure", stage)
        if s.versions is not None and s.start is not None:
            raise self.error(change, "versions", "with `from`, give one `measure`, not versions")
        if s.versions is not None:
            specs = [self._measure_spec(change, v, f"versions[{j}]", mid, stage, None)
                     for j, v in enumerate(change.data["versions"])]
            fields = [f"versions[{j}]" for j in range(len(specs))]
        else:
            specs = [self._measure_spec(change, change.data["measure"], "measure", mid, stage,
                                        s.start)]
            fields = ["measure"]
        measures = self._measures(raw, stage)
        if s.start is None:
            at = idx[0]
            for i in reversed(idx):
                _splice(measures, i, 1, [])
        else:
            kept = self._end_versions(raw, stage, idx, s.start)
            at = kept[-1] + 1 if kept else idx[0]
        _splice(measures, at, 0, specs)
        return list(zip(fields, specs, strict=True))

    def _apply_remove_measure(self, raw: dict[str, Any], change: Change) -> None:
        s: RemoveMeasure = change.spec
        mid = s.remove_measure
        stage = self._stage(change, mid, "remove_measure")
        idx = self._versions(raw, change, mid, "remove_measure", stage)
        if s.start is not None:
            self._end_versions(raw, stage, idx, s.start)
            return
        measures = self._measures(raw, stage)
        for i in reversed(idx):
            _splice(measures, i, 1, [])

    def _apply_set_in_force(self, raw: dict[str, Any], change: Change) -> None:
        s: SetInForce = change.spec
        mid = s.set_in_force
        stage = self._stage(change, mid, "set_in_force")
        idx = self._versions(raw, change, mid, "set_in_force", stage)
        measures = self._measures(raw, stage)
        if s.version is not None:
            idx = [i for i in idx if _covers(measures[i].get("in_force"), s.version)]
            if not idx:
                raise self.error(change, "version", f"no version of {mid} is in force on "
                                                    f"{s.version}")
        elif len(idx) > 1:
            raise self.error(change, "set_in_force", f"{mid} has {len(idx)} versions in "
                                                     f"{stage}.yaml; give `version: DATE`, a date "
                                                     "on which the one to change is in force")
        given = change.spec.model_fields_set
        if not given & {"start", "end"}:
            raise self.error(change, "set_in_force", "give `from` and/or `to` (null removes it)")
        m = dict(measures[idx[0]])
        window = dict(m.get("in_force") or {})
        for key, attr in (("from", "start"), ("to", "end")):
            if attr in given:
                value = getattr(s, attr)
                if value is None:
                    window.pop(key, None)
                else:
                    window[key] = value
        lo, hi = _window(window)
        if hi <= lo:
            raise self.error(change, "set_in_force", f"{mid} would end ({hi}) before it starts "
                                                     f"({lo}); `to` must be after `from`")
        m["in_force"] = window
        measures[idx[0]] = m

    def _apply_move_date(self, raw: dict[str, Any], change: Change) -> None:
        s: MoveDate = change.spec
        old, new = s.move_date, s.new_date
        moved = 0
        for stage in STAGES:
            data = raw.get(f"{stage}.yaml")
            if not data or not data.get("measures"):
                continue
            measures = data["measures"]
            for i, m in enumerate(measures):
                window = dict(m.get("in_force") or {})
                hits = [k for k in ("from", "to") if window.get(k) == old]
                if hits:
                    window.update({k: new for k in hits})
                    measures[i] = {**dict(m), "in_force": window}
                    moved += 1
        for name in ("parameters.yaml", "practice.yaml"):
            params = raw.get(name) or {}
            for pname, spec in list(params.items()):
                values = spec.get("values") if isinstance(spec, Mapping) else None
                if not isinstance(values, Mapping) or old not in values:
                    continue
                if new in values:
                    raise self.error(change, "new_date", f"{pname} already has a value dated "
                                                         f"{new}")
                new_values = {(new if d == old else d): v for d, v in values.items()}
                params[pname] = {**dict(spec), "values": dict(sorted(new_values.items()))}
                moved += 1
        if not moved:
            raise self.error(change, "move_date", f"nothing in the pack takes effect or ends on "
                                                  f"{old}")

    # parameters --------------------------------------------------------------------------------

    def _table_keys(self, keys: str | None) -> tuple[str, ...]:
        if keys == "measure":
            return tuple(CATALOGUE)
        if keys in FIELDS:
            return FIELDS[keys].values
        return ()

    def _apply_set_parameter(self, raw: dict[str, Any], change: Change) -> None:
        s: SetParameter = change.spec
        self._set(raw, change, s.set_parameter, s.value, s.entries, s.start, s.provenance,
                  "set_parameter")

    def _apply_set_capacity(self, raw: dict[str, Any], change: Change) -> None:
        s: SetCapacity = change.spec
        self._set(raw, change, "measure_capacity", None, s.set_capacity, s.start, "unverified",
                  "set_capacity")

    def _apply_set_weight(self, raw: dict[str, Any], change: Change) -> None:
        s: SetWeight = change.spec
        self._set(raw, change, "measure_weight", None, s.set_weight, s.start, "unverified",
                  "set_weight")

    def _apply_scale_capacity(self, raw: dict[str, Any], change: Change) -> None:
        s: ScaleCapacity = change.spec
        self._scale(raw, change, "measure_capacity", s.scale_capacity, s.start, None)

    def _apply_scale_weight(self, raw: dict[str, Any], change: Change) -> None:
        s: ScaleWeight = change.spec
        self._scale(raw, change, "measure_weight", s.scale_weight, s.start, 1.0)

    def _scale(self, raw: dict[str, Any], change: Change, name: str, factors: dict[str, float],
               start: date | None, missing: float | None) -> None:
        """Multiply entries of a practice table by measure; `missing` is the value of an absent one."""
        practice = raw.get("practice.yaml") or {}
        old = practice.get(name)
        if old is not None:
            values = dict(_plain(old).get("values") or {})
        else:
            values = {EARLIEST: dict(DEFAULTS[name].value)}

        def scaled(table: Mapping[str, float]) -> dict[str, float]:
            out = dict(table)
            for key, factor in factors.items():
                base = table.get(key, missing)
                if base is not None:
                    out[key] = base * factor
            return out

        if start is not None and start not in values:
            values[start] = dict(_value_at(values, start) or {})
        new = {d: (scaled(v) if start is None or d >= start else v) for d, v in values.items()}
        if new == values:
            return  # e.g. unlimited places stay unlimited
        self._set(raw, change, name, None, None, None, "unverified", change.op, replace=new)

    def _set(self, raw: dict[str, Any], change: Change, name: str, value: Any,
             entries: dict[str, float] | None, start: date | None, provenance: str,
             fld: str, replace: dict[date, Any] | None = None) -> None:
        if replace is None and (value is None) == (entries is None):
            raise self.error(change, fld, "give either `value` (the whole value) or `entries` "
                                          "(some entries of a table), not both or none")
        law = raw.get("parameters.yaml") or {}
        practice = raw.get("practice.yaml") or {}
        default = DEFAULTS.get(name)
        if name in law:
            file = "parameters.yaml"
        elif name in practice or default is not None:
            file = "practice.yaml"
        else:
            known = ", ".join(law) or "none"
            raise self.error(change, fld, f"{name!r} is neither a parameter of this pack ({known}) "
                                          "nor a practice parameter (see divert.law.practice.DEFAULTS);"
                                          " use add_parameter for a new law parameter")
        params = raw.get(file)
        if params is None:
            params = raw[file] = {}
        old = params.get(name)
        citation = change.spec.citation.strip()
        if old is not None:
            spec = _plain(old)
            spec["citation"] = f"{spec.get('citation', '')}; scenario {self.name}: {citation}"
            values = dict(spec.get("values") or {})
            kind = _kind(next(iter(values.values()))) if values else None
            keys = spec.get("keys")
            base = None
        else:
            assert default is not None
            spec = {"description": default.description, "unit": default.unit,
                    "citation": f"scenario {self.name}: {citation}"}
            if default.keys:
                spec["keys"] = default.keys
            values = {}
            kind = _kind(default.value)
            keys = default.keys
            base = dict(default.value) if isinstance(default.value, Mapping) else None
        spec["provenance"] = provenance
        if replace is not None:
            values = replace
        elif value is not None:
            if kind is not None and _kind(value) != kind:
                raise self.error(change, "value", f"{name} is a {kind}, not a {_kind(value)}")
            if isinstance(value, Mapping):
                self._check_keys(change, "value", name, value, keys)
            if start is None:
                values = {min(values) if values else EARLIEST: value}
            else:
                values = {d: v for d, v in values.items() if d < start}
                values[start] = value
        else:
            assert entries is not None
            if kind != "table":
                raise self.error(change, fld, f"{name} is a {kind}, not a table: give `value`")
            self._check_keys(change, "entries" if fld == "set_parameter" else fld, name, entries,
                             keys)
            if not values:
                values = {start or EARLIEST: {**(base or {}), **entries}}
            elif start is None:
                values = {d: {**v, **entries} for d, v in values.items()}
            else:
                at = _value_at(values, start)
                new = {d: ({**v, **entries} if d > start else v) for d, v in values.items()}
                new[start] = {**(at or base or {}), **entries}
                values = new
        spec["values"] = dict(sorted(values.items()))
        _put(params, name, spec)

    def _check_keys(self, change: Change, fld: str, name: str, table: Mapping[str, Any],
                    keys: str | None) -> None:
        allowed = self._table_keys(keys)
        for key, v in table.items():
            if key not in allowed:
                raise self.error(change, f"{fld}.{key}", f"not a key of {name} ({keys}); allowed: "
                                                         + ", ".join(allowed))
            if name in ("measure_capacity", "measure_weight") and v < 0:
                raise self.error(change, f"{fld}.{key}", "must be 0 or more")

    def _apply_add_parameter(self, raw: dict[str, Any], change: Change) -> None:
        s: AddParameter = change.spec
        name = s.add_parameter
        law = raw.get("parameters.yaml")
        if law is None:
            law = raw["parameters.yaml"] = {}
        if name in law or name in (raw.get("practice.yaml") or {}) or name in DEFAULTS:
            raise self.error(change, "add_parameter", f"{name!r} already exists; use "
                                                      "set_parameter to change it")
        if name in FIELDS or "." in name or not name.isidentifier():
            raise self.error(change, "add_parameter", f"{name!r} is not a valid parameter name "
                                                      "(snake_case, not a vocabulary name)")
        spec: dict[str, Any] = {k: v for k, v in (("description", s.description), ("unit", s.unit),
                                   ("keys", s.keys)) if v is not None}
        spec.update(citation=s.citation.strip(), provenance=s.provenance,
                    values=dict(sorted(s.values.items())))
        if s.uncertainty is not None:
            spec["uncertainty"] = s.uncertainty
        kinds = {_kind(v) for v in s.values.values()}
        if len(kinds) > 1:
            raise self.error(change, "values", "every date must give the same kind of value")
        validate_model(ParameterSpec, spec, self.path, ("changes", change.index))
        if kinds == {"table"}:
            if s.keys is None:
                raise self.error(change, "keys", "a table needs `keys` naming its category field")
            for d, table in s.values.items():
                assert isinstance(table, Mapping)
                self._check_keys(change, f"values.{d}", name, table, s.keys)
        _put(law, name, spec)

    def _check_conditions(self, raw: dict[str, Any], added: list[tuple[Change, str, Any]]) -> None:
        """Compile the conditions of every measure the overlay wrote, naming the overlay's lines."""
        if not added:
            return
        params = parse_parameters(raw.get("parameters.yaml"), Path(self.path.name) / "parameters.yaml")
        specs = param_specs(params)
        for change, fld, spec in added:
            for part in ("when", "unless"):
                conds = spec.get(part) or []
                if isinstance(conds, str | Mapping):
                    conds = [conds]
                for j, cond in enumerate(conds):
                    # the measure schema made every condition a test text or {test: text}
                    text: str = cond["test"] if isinstance(cond, Mapping) else cond
                    where = self.error(change, f"{fld}.{part}[{j}]", "").where
                    compile_condition(text, specs,
                                      where=f"{where}: changes[{change.index}].{fld}.{part}[{j}]")

    # descriptions ------------------------------------------------------------------------------

    @staticmethod
    def _from(start: date | None) -> str:
        return f" from {start.isoformat()}" if start else ""

    def _describe_set_parameter(self, s: SetParameter) -> str:
        kind = "practice parameter" if s.set_parameter in DEFAULTS else "parameter"
        if s.entries is not None:
            parts = ", ".join(f"{s.set_parameter}[{k}] = {_show(v)}" for k, v in s.entries.items())
            return f"Sets {kind} {parts}{self._from(s.start)}"
        return f"Sets {kind} {s.set_parameter} to {_show(s.value)}{self._from(s.start)}"

    def _describe_add_parameter(self, s: AddParameter) -> str:
        dated = "; ".join(f"{_show(v)} from {d.isoformat()}" for d, v in sorted(s.values.items()))
        unit = f" ({s.unit})" if s.unit else ""
        return f"Adds parameter {s.add_parameter}{unit}: {dated}"

    def _label(self, mid: str, measure: Any) -> str:
        label = measure.get("label") if isinstance(measure, Mapping) else None
        return f"{mid} ({label or CATALOGUE[mid].label})"

    def _describe_add_measure(self, s: AddMeasure) -> str:
        stage = CATALOGUE[s.add_measure].stage
        start = s.start or (s.measure.get("in_force") or {}).get("from")
        return f"Adds {stage} measure {self._label(s.add_measure, s.measure)}{self._from(start)}"

    def _describe_replace_measure(self, s: ReplaceMeasure) -> str:
        stage = CATALOGUE[s.replace_measure].stage
        if s.start is not None:
            return (f"Replaces the {stage} rule for {self._label(s.replace_measure, s.measure)} "
                    f"from {s.start.isoformat()}")
        what = s.measure if s.measure is not None else (s.versions or [{}])[0]
        return (f"Replaces every version of the {stage} rule for "
                f"{self._label(s.replace_measure, what)}")

    def _describe_remove_measure(self, s: RemoveMeasure) -> str:
        stage = CATALOGUE[s.remove_measure].stage
        if s.start is not None:
            return f"Abolishes the {stage} measure {s.remove_measure} from {s.start.isoformat()}"
        return f"Removes the {stage} measure {s.remove_measure}"

    def _describe_set_in_force(self, s: SetInForce) -> str:
        stage = CATALOGUE[s.set_in_force].stage
        parts = []
        given = s.model_fields_set
        if "start" in given:
            parts.append(f"from {s.start.isoformat()}" if s.start else "with no start date")
        if "end" in given:
            parts.append(f"until {s.end.isoformat()}" if s.end else "with no end date")
        version = f" (the version in force on {s.version.isoformat()})" if s.version else ""
        return f"Puts the {stage} measure {s.set_in_force}{version} in force {' '.join(parts)}"

    def _describe_move_date(self, s: MoveDate) -> str:
        return (f"Moves every change of the law dated {s.move_date.isoformat()} to "
                f"{s.new_date.isoformat()}")

    def _describe_set_capacity(self, s: SetCapacity) -> str:
        parts = ", ".join(f"{k}: {_show(v)}" for k, v in s.set_capacity.items())
        return f"Sets places (measure_capacity) {parts}{self._from(s.start)}"

    def _describe_set_weight(self, s: SetWeight) -> str:
        parts = ", ".join(f"{k}: {_show(v)}" for k, v in s.set_weight.items())
        return f"Sets relative use (measure_weight) {parts}{self._from(s.start)}"

    def _describe_scale_capacity(self, s: ScaleCapacity) -> str:
        parts = ", ".join(f"{k} x{_show(v)}" for k, v in s.scale_capacity.items())
        return (f"Multiplies places (measure_capacity) {parts}{self._from(s.start)}; a measure "
                "without a set number of places stays unlimited")

    def _describe_scale_weight(self, s: ScaleWeight) -> str:
        parts = ", ".join(f"{k} x{_show(v)}" for k, v in s.scale_weight.items())
        return f"Multiplies relative use (measure_weight) {parts}{self._from(s.start)}"


# --- loading --------------------------------------------------------------------------------------


def load_overlay(path: Path | str) -> ScenarioOverlay:
    """Read and validate a scenario file; errors name the file, the line and the field."""
    path = Path(path)
    if not path.is_file():
        raise PackError("no such scenario file", where=str(path))
    try:
        data = read_yaml(path)
    except InputError as exc:
        raise PackError(str(exc)) from None
    if not isinstance(data, Mapping):
        raise PackError("a scenario is a mapping with title, summary and changes", where=str(path))
    top = validate_model(ScenarioFile, data, path)
    overlay = ScenarioOverlay(name=path.stem, hash=hashlib.sha256(path.read_bytes()).hexdigest(),
                              path=path, title=top.title.strip(), summary=top.summary,
                              pack=top.pack, changes=[], data=data)
    allowed = ", ".join(OPS)
    for i, item in enumerate(top.changes):
        where = f"{path}:{line_of(data, ('changes', i))}"
        if not isinstance(item, Mapping):
            raise PackError(f"changes[{i}]: expected a mapping with one operation; allowed: "
                            f"{allowed}", where=where)
        ops = [k for k in item if k in OPS]
        if len(ops) != 1:
            what = "no operation" if not ops else f"more than one operation ({', '.join(ops)})"
            unknown = [str(k) for k in item if k not in _ALL_FIELDS]
            hint = f" (unknown: {', '.join(unknown)})" if unknown and not ops else ""
            raise PackError(f"changes[{i}]: {what}{hint}; each change names exactly one of: "
                            f"{allowed}", where=where)
        op = ops[0]
        spec = validate_model(OPS[op], item, path, ("changes", i))
        change = Change(i, op, spec, item)
        _check_ids(overlay, change)
        overlay.changes.append(change)
    return overlay


_ALL_FIELDS = {f.alias or name for model in OPS.values()
               for name, f in model.model_fields.items()}


def _check_ids(overlay: ScenarioOverlay, change: Change) -> None:
    """Measure ids a change names must be catalogue measures of the stage it gives."""
    s = change.spec
    measure_op = change.op.endswith("_measure") or change.op == "set_in_force"
    target = getattr(s, change.op) if measure_op else None
    stage = getattr(s, "stage", None)
    if isinstance(target, str):
        if target not in CATALOGUE:
            pool = measures_of(stage) if stage else CATALOGUE.values()
            raise overlay.error(change, change.op, f"{target!r} is not a catalogue measure; "
                                                   "allowed: " + ", ".join(m.id for m in pool))
        overlay._stage(change, target, change.op)
    for fld in ("before", "after"):
        other = getattr(s, fld, None)
        if other is None:
            continue
        if not isinstance(target, str):  # only the measure changes have `before`/`after`
            raise AssertionError(f"{change.op}: {fld} without a measure")
        if other not in CATALOGUE or CATALOGUE[other].stage != CATALOGUE[target].stage:
            raise overlay.error(change, fld, f"{other!r} is not a {CATALOGUE[target].stage} "
                                             "measure")
    if change.op in _PRACTICE_OPS:
        table = getattr(s, change.op)
        for key, v in table.items():
            if key not in CATALOGUE:
                raise overlay.error(change, f"{change.op}.{key}", "not a catalogue measure; "
                                                                  "allowed: " + ", ".join(CATALOGUE))
            if v < 0:
                raise overlay.error(change, f"{change.op}.{key}", "must be 0 or more")


def scenario_dir(code: str, root: Path | None = None) -> Path:
    """Where the scenarios shipped with pack `code` live."""
    return (root or policies_root()) / code / "scenarios"


def scenario_names(code: str, root: Path | None = None) -> list[str]:
    """The names of the scenarios shipped with pack `code`, sorted."""
    folder = scenario_dir(code, root)
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def resolve_overlay(code: str, name_or_path: str | Path, root: Path | None = None) -> ScenarioOverlay:
    """A shipped scenario of pack `code` by name, or a scenario file by path."""
    text = str(name_or_path)
    if not text:
        raise InputError("empty scenario name after '+'")
    if isinstance(name_or_path, Path) or "/" in text or text.endswith((".yaml", ".yml")):
        return load_overlay(Path(text))
    path = scenario_dir(code, root) / f"{text}.yaml"
    if not path.is_file():
        known = ", ".join(scenario_names(code, root)) or "none"
        raise PackError(f"unknown scenario {text!r} for {code}; allowed: {known} (or a path to "
                        "a .yaml file)", where=str(scenario_dir(code, root)))
    return load_overlay(path)


@dataclass(frozen=True)
class ScenarioSpec:
    """A scenario as the command line writes it, `CODE[+OVERLAY]...`: a pack code and the overlays
    applied to it in order, each a scenario shipped with the pack (a name) or a file (a path).

    The one place that text is split; `str()` gives it back unchanged."""

    code: str
    overlays: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> ScenarioSpec:
        code, *names = text.split("+")
        return cls(code, tuple(names))

    def __str__(self) -> str:
        return "+".join((self.code, *self.overlays))

    def overlay_files(self, root: Path | None = None) -> list[Path]:
        """Every file an overlay name may be read from (as a path, and as a shipped scenario)."""
        folder = scenario_dir(self.code, root)
        return [f for o in self.overlays for f in (Path(o), folder / f"{o}.yaml")]


def parse_scenario(spec: str, root: Path | None = None) -> tuple[str, list[ScenarioOverlay]]:
    """`CODE[+OVERLAY]...` as the pack code and its overlays (shipped names or paths)."""
    root = root or policies_root()
    scenario = ScenarioSpec.parse(spec)
    code = scenario.code
    if not (root / code / "pack.yaml").is_file():
        known = ", ".join(p.name for p in pack_dirs(root)) or "none"
        raise InputError(f"unknown jurisdiction {code!r}; allowed: {known}")
    return code, [resolve_overlay(code, n, root) for n in scenario.overlays]


def load_scenario(spec: str, root: Path | None = None) -> Policy:
    """The pack `CODE` with its overlays applied, from `CODE[+OVERLAY]...` (e.g. usa+prison_treatment)."""
    root = root or policies_root()
    code, overlays = parse_scenario(spec, root)
    return load_pack(root / code, overlays)


__all__ = ["OPS", "ScenarioOverlay", "ScenarioSpec", "load_overlay", "resolve_overlay", "parse_scenario",
           "load_scenario", "scenario_names", "scenario_dir"]
