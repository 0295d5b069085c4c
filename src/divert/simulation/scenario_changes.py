"""The changes a scenario overlay makes, one typed class per operation.

Each change of a scenario file is parsed once into one of these models, chosen by the operation key
it names (`OPS`); the model applies itself to a pack's raw file data (`apply`) and says what it does
in one plain sentence (`describe`). `OverlayEdits` holds the editing steps several changes share
(find a measure's versions, validate a measure, set a parameter's dated values) and the error that
names the overlay file, the line and the field.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from divert.errors import PackError
from divert.law.catalogue import CATALOGUE, measures_of
from divert.law.policy import InForce, MeasureSpec, ParameterSpec, Provenance, Strict, value_at
from divert.law.practice import DEFAULTS
from divert.law.vocabulary import FIELDS, STAGES
from divert.law.yaml_source import error_message, line_of, loc_text, validate_model

StageName = Literal["police", "prosecution", "court", "post_sentence"]
Value = bool | float | dict[str, float]
EARLIEST = date(1900, 1, 1)
"""The effective date given to a value set without `from` on a parameter that has no dates yet."""


class _Change(Strict):
    """What every change gives: its citation and rationale; and what it does."""

    citation: str = Field(min_length=1)
    rationale: str | None = None

    def law_dates(self) -> list[date] | None:
        """The dates from which the change alters the law: [] when it changes only practice,
        None when it has no date (it rewrites the law at every date)."""
        return None

    @abstractmethod
    def apply(self, ov: OverlayEdits, raw: dict[str, Any],
              change: Change) -> list[tuple[str, Any]] | None:
        """Change `raw` in place; the measures written, as (field, spec), for their conditions."""

    @abstractmethod
    def describe(self) -> str:
        """What the change does, in one plain sentence (without its rationale and citation)."""


class _Dated(_Change):
    start: date | None = Field(None, alias="from")

    def law_dates(self) -> list[date] | None:
        return None if self.start is None else [self.start]


class SetParameter(_Dated):
    """Set a law or practice parameter's value (whole) or some entries of a table, from a date."""

    set_parameter: str
    value: Value | None = None
    entries: dict[str, float] | None = None
    provenance: Provenance = "unverified"

    def law_dates(self) -> list[date] | None:
        return [] if self.set_parameter in DEFAULTS else super().law_dates()

    def apply(self, ov: OverlayEdits, raw: dict[str, Any], change: Change) -> None:
        s = self
        ov._set(raw, change, s.set_parameter, s.value, s.entries, s.start, s.provenance,
                  "set_parameter")

    def describe(self) -> str:
        s = self
        kind = "practice parameter" if s.set_parameter in DEFAULTS else "parameter"
        if s.entries is not None:
            parts = ", ".join(f"{s.set_parameter}[{k}] = {_show(v)}" for k, v in s.entries.items())
            return f"Sets {kind} {parts}{_from(s.start)}"
        return f"Sets {kind} {s.set_parameter} to {_show(s.value)}{_from(s.start)}"


class AddParameter(_Change):
    """A new law parameter, written as in parameters.yaml."""

    add_parameter: str
    description: str | None = None
    unit: str | None = None
    keys: str | None = None
    provenance: Provenance = "unverified"
    values: dict[date, Value] = Field(min_length=1)
    uncertainty: dict[str, Any] | None = None

    def law_dates(self) -> list[date] | None:
        return [min(self.values)]

    def apply(self, ov: OverlayEdits, raw: dict[str, Any], change: Change) -> None:
        s = self
        name = s.add_parameter
        law = raw.get("parameters.yaml")
        if law is None:
            law = raw["parameters.yaml"] = {}
        if name in law or name in (raw.get("practice.yaml") or {}) or name in DEFAULTS:
            raise ov.error(change, "add_parameter", f"{name!r} already exists; use "
                                                      "set_parameter to change it")
        if name in FIELDS or "." in name or not name.isidentifier():
            raise ov.error(change, "add_parameter", f"{name!r} is not a valid parameter name "
                                                      "(snake_case, not a vocabulary name)")
        spec: dict[str, Any] = {k: v for k, v in (("description", s.description), ("unit", s.unit),
                                   ("keys", s.keys)) if v is not None}
        spec.update(citation=s.citation.strip(), provenance=s.provenance,
                    values=dict(sorted(s.values.items())))
        if s.uncertainty is not None:
            spec["uncertainty"] = s.uncertainty
        kinds = {_kind(v) for v in s.values.values()}
        if len(kinds) > 1:
            raise ov.error(change, "values", "every date must give the same kind of value")
        validate_model(ParameterSpec, spec, ov.path, ("changes", change.index))
        if kinds == {"table"}:
            if s.keys is None:
                raise ov.error(change, "keys", "a table needs `keys` naming its category field")
            for d, table in s.values.items():
                assert isinstance(table, Mapping)
                ov._check_keys(change, f"values.{d}", name, table, s.keys)
        _put(law, name, spec)

    def describe(self) -> str:
        s = self
        dated = "; ".join(f"{_show(v)} from {d.isoformat()}" for d, v in sorted(s.values.items()))
        unit = f" ({s.unit})" if s.unit else ""
        return f"Adds parameter {s.add_parameter}{unit}: {dated}"


class _MeasureChange(_Dated):
    stage: StageName | None = None


class AddMeasure(_MeasureChange):
    """A new measure (or a new dated version of one), written as in a stage file."""

    add_measure: str
    measure: dict[str, Any]
    before: str | None = None
    after: str | None = None

    def law_dates(self) -> list[date] | None:
        start = self.start or (self.measure.get("in_force") or {}).get("from")
        return None if start is None else [start]

    def apply(self, ov: OverlayEdits, raw: dict[str, Any], change: Change) -> list[tuple[str, Any]]:
        s = self
        mid = s.add_measure
        stage = ov._stage(change, mid, "add_measure")
        spec = ov._measure_spec(change, change.data["measure"], "measure", mid, stage, s.start)
        measures = ov._measures(raw, stage)
        new_lo, new_hi = _window(spec.get("in_force"))
        for m in measures:
            if m.get("id") == mid:
                lo, hi = _window(m.get("in_force"))
                if lo < new_hi and new_lo < hi:
                    raise ov.error(change, "add_measure",
                                     f"{mid} is already in this pack's {stage}.yaml for an "
                                     "overlapping period; use replace_measure (with `from` to "
                                     "change the law from a date) or non-overlapping dates")
        _splice(measures, ov._insert_position(raw, change, mid, stage), 0, [spec])
        return [("measure", spec)]

    def describe(self) -> str:
        s = self
        stage = CATALOGUE[s.add_measure].stage
        start = s.start or (s.measure.get("in_force") or {}).get("from")
        return f"Adds {stage} measure {_label(s.add_measure, s.measure)}{_from(start)}"


class ReplaceMeasure(_MeasureChange):
    """Replace every version of a measure (or, with `from`, the law from that date on)."""

    replace_measure: str
    measure: dict[str, Any] | None = None
    versions: list[dict[str, Any]] | None = None

    def apply(self, ov: OverlayEdits, raw: dict[str, Any], change: Change) -> list[tuple[str, Any]]:
        s = self
        mid = s.replace_measure
        stage = ov._stage(change, mid, "replace_measure")
        if (s.measure is None) == (s.versions is None):
            raise ov.error(change, "replace_measure", "give either `measure` (one version) or "
                                                        "`versions` (a list), not both or none")
        idx = ov._versions(raw, change, mid, "replace_measure", stage)
        if s.versions is not None and s.start is not None:
            raise ov.error(change, "versions", "with `from`, give one `measure`, not versions")
        if s.versions is not None:
            specs = [ov._measure_spec(change, v, f"versions[{j}]", mid, stage, None)
                     for j, v in enumerate(change.data["versions"])]
            fields = [f"versions[{j}]" for j in range(len(specs))]
        else:
            specs = [ov._measure_spec(change, change.data["measure"], "measure", mid, stage,
                                        s.start)]
            fields = ["measure"]
        measures = ov._measures(raw, stage)
        if s.start is None:
            at = idx[0]
            for i in reversed(idx):
                _splice(measures, i, 1, [])
        else:
            kept = ov._end_versions(raw, stage, idx, s.start)
            at = kept[-1] + 1 if kept else idx[0]
        _splice(measures, at, 0, specs)
        return list(zip(fields, specs, strict=True))

    def describe(self) -> str:
        s = self
        stage = CATALOGUE[s.replace_measure].stage
        if s.start is not None:
            return (f"Replaces the {stage} rule for {_label(s.replace_measure, s.measure)} "
                    f"from {s.start.isoformat()}")
        what = s.measure if s.measure is not None else (s.versions or [{}])[0]
        return (f"Replaces every version of the {stage} rule for "
                f"{_label(s.replace_measure, what)}")


class RemoveMeasure(_MeasureChange):
    """Remove a measure (or, with `from`, abolish it from that date)."""

    remove_measure: str

    def apply(self, ov: OverlayEdits, raw: dict[str, Any], change: Change) -> None:
        s = self
        mid = s.remove_measure
        stage = ov._stage(change, mid, "remove_measure")
        idx = ov._versions(raw, change, mid, "remove_measure", stage)
        if s.start is not None:
            ov._end_versions(raw, stage, idx, s.start)
            return
        measures = ov._measures(raw, stage)
        for i in reversed(idx):
            _splice(measures, i, 1, [])

    def describe(self) -> str:
        s = self
        stage = CATALOGUE[s.remove_measure].stage
        if s.start is not None:
            return f"Abolishes the {stage} measure {s.remove_measure} from {s.start.isoformat()}"
        return f"Removes the {stage} measure {s.remove_measure}"


class SetInForce(_Change):
    """Change the dates one version of a measure is in force."""

    set_in_force: str
    stage: StageName | None = None
    version: date | None = None
    start: date | None = Field(None, alias="from")
    end: date | None = Field(None, alias="to")

    def law_dates(self) -> list[date] | None:
        return [d for d in (self.start, self.end) if d is not None] or None

    def apply(self, ov: OverlayEdits, raw: dict[str, Any], change: Change) -> None:
        s = self
        mid = s.set_in_force
        stage = ov._stage(change, mid, "set_in_force")
        idx = ov._versions(raw, change, mid, "set_in_force", stage)
        measures = ov._measures(raw, stage)
        if s.version is not None:
            idx = [i for i in idx
                   if InForce.model_validate(measures[i].get("in_force") or {}).covers(s.version)]
            if not idx:
                raise ov.error(change, "version", f"no version of {mid} is in force on "
                                                    f"{s.version}")
        elif len(idx) > 1:
            raise ov.error(change, "set_in_force", f"{mid} has {len(idx)} versions in "
                                                     f"{stage}.yaml; give `version: DATE`, a date "
                                                     "on which the one to change is in force")
        given = s.model_fields_set
        if not given & {"start", "end"}:
            raise ov.error(change, "set_in_force", "give `from` and/or `to` (null removes it)")
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
            raise ov.error(change, "set_in_force", f"{mid} would end ({hi}) before it starts "
                                                     f"({lo}); `to` must be after `from`")
        m["in_force"] = window
        measures[idx[0]] = m

    def describe(self) -> str:
        s = self
        stage = CATALOGUE[s.set_in_force].stage
        parts = []
        given = s.model_fields_set
        if "start" in given:
            parts.append(f"from {s.start.isoformat()}" if s.start else "with no start date")
        if "end" in given:
            parts.append(f"until {s.end.isoformat()}" if s.end else "with no end date")
        version = f" (the version in force on {s.version.isoformat()})" if s.version else ""
        return f"Puts the {stage} measure {s.set_in_force}{version} in force {' '.join(parts)}"


class MoveDate(_Change):
    """Every rule and parameter of the pack that takes effect (or ends) on one date moves to another."""

    move_date: date
    new_date: date

    def law_dates(self) -> list[date] | None:
        return [min(self.move_date, self.new_date)]

    def apply(self, ov: OverlayEdits, raw: dict[str, Any], change: Change) -> None:
        s = self
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
                    raise ov.error(change, "new_date", f"{pname} already has a value dated "
                                                         f"{new}")
                new_values = {(new if d == old else d): v for d, v in values.items()}
                params[pname] = {**dict(spec), "values": dict(sorted(new_values.items()))}
                moved += 1
        if not moved:
            raise ov.error(change, "move_date", f"nothing in the pack takes effect or ends on "
                                                  f"{old}")

    def describe(self) -> str:
        s = self
        return (f"Moves every change of the law dated {s.move_date.isoformat()} to "
                f"{s.new_date.isoformat()}")


class SetCapacity(_Dated):
    """Places in measures (practice parameter measure_capacity)."""

    set_capacity: dict[str, float]

    def law_dates(self) -> list[date] | None:
        return []  # practice only

    def apply(self, ov: OverlayEdits, raw: dict[str, Any], change: Change) -> None:
        s = self
        ov._set(raw, change, "measure_capacity", None, s.set_capacity, s.start, "unverified",
                  "set_capacity")

    def describe(self) -> str:
        s = self
        parts = ", ".join(f"{k}: {_show(v)}" for k, v in s.set_capacity.items())
        return f"Sets places (measure_capacity) {parts}{_from(s.start)}"


class SetWeight(_Dated):
    """Relative use of measures when open (practice parameter measure_weight)."""

    set_weight: dict[str, float]

    def law_dates(self) -> list[date] | None:
        return []  # practice only

    def apply(self, ov: OverlayEdits, raw: dict[str, Any], change: Change) -> None:
        s = self
        ov._set(raw, change, "measure_weight", None, s.set_weight, s.start, "unverified",
                  "set_weight")

    def describe(self) -> str:
        s = self
        parts = ", ".join(f"{k}: {_show(v)}" for k, v in s.set_weight.items())
        return f"Sets relative use (measure_weight) {parts}{_from(s.start)}"


class ScaleCapacity(_Dated):
    """Multiply places in measures by a factor (a measure without a capacity stays unlimited)."""

    scale_capacity: dict[str, float]

    def law_dates(self) -> list[date] | None:
        return []  # practice only

    def apply(self, ov: OverlayEdits, raw: dict[str, Any], change: Change) -> None:
        s = self
        ov._scale(raw, change, "measure_capacity", s.scale_capacity, s.start, None)

    def describe(self) -> str:
        s = self
        parts = ", ".join(f"{k} x{_show(v)}" for k, v in s.scale_capacity.items())
        return (f"Multiplies places (measure_capacity) {parts}{_from(s.start)}; a measure "
                "without a set number of places stays unlimited")


class ScaleWeight(_Dated):
    """Multiply the relative use of measures by a factor (a measure without a weight has 1)."""

    scale_weight: dict[str, float]

    def law_dates(self) -> list[date] | None:
        return []  # practice only

    def apply(self, ov: OverlayEdits, raw: dict[str, Any], change: Change) -> None:
        s = self
        ov._scale(raw, change, "measure_weight", s.scale_weight, s.start, 1.0)

    def describe(self) -> str:
        s = self
        parts = ", ".join(f"{k} x{_show(v)}" for k, v in s.scale_weight.items())
        return f"Multiplies relative use (measure_weight) {parts}{_from(s.start)}"


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


_PRACTICE_OPS = ("set_capacity", "set_weight", "scale_capacity", "scale_weight")


def _from(start: date | None) -> str:
    return f" from {start.isoformat()}" if start else ""


def _label(mid: str, measure: Any) -> str:
    label = measure.get("label") if isinstance(measure, Mapping) else None
    return f"{mid} ({label or CATALOGUE[mid].label})"


# --- editing steps the changes share --------------------------------------------------------------


class OverlayEdits:
    """The overlay as its changes see it: its name and file (for citations and errors) and the
    editing steps they share. `ScenarioOverlay` is one."""

    name: str
    path: Path
    data: Any

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

    # parameters --------------------------------------------------------------------------------

    def _table_keys(self, keys: str | None) -> tuple[str, ...]:
        if keys == "measure":
            return tuple(CATALOGUE)
        if keys in FIELDS:
            return FIELDS[keys].values
        return ()

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
            values[start] = dict(value_at(values, start) or {})
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
                at = value_at(values, start)
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
