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
from typing import Any

from pydantic import Field

from divert.errors import InputError, PackError
from divert.law.catalogue import CATALOGUE, measures_of
from divert.law.policy import (
    Policy,
    Strict,
    load_pack,
    pack_dirs,
    param_specs,
    parse_parameters,
    policies_root,
)
from divert.law.rules import compile_condition
from divert.law.yaml_source import line_of, read_yaml, validate_model
from divert.simulation.scenario_changes import (
    _PRACTICE_OPS,
    OPS,
    Change,
    OverlayEdits,
)

# --- the overlay file -----------------------------------------------------------------------------


class ScenarioFile(Strict):
    """The top level of a scenario file."""

    title: str = Field(min_length=1)
    summary: str | None = None
    pack: str | None = None
    changes: list[Any]


# --- the overlay ----------------------------------------------------------------------------------


@dataclass
class ScenarioOverlay(OverlayEdits):
    """A scenario overlay loaded from a YAML file (see docs/scenarios.md)."""

    name: str
    hash: str
    path: Path
    title: str
    summary: str | None
    pack: str | None
    changes: list[Change]
    data: Any = field(repr=False, default=None)

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
            result = change.spec.apply(self, out, change)
            if result:
                added.extend((change, fld, spec) for fld, spec in result)
        self._check_conditions(out, added)
        return out

    def describe(self) -> list[str]:
        """What the scenario changes in the law and in practice, one plain sentence per change."""
        lines = []
        for change in self.changes:
            text = change.spec.describe()
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
            given = c.spec.law_dates()
            if given is None:
                undated = True
            else:
                dates.extend(given)
        if undated or not dates:
            return None
        return min(dates)

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
