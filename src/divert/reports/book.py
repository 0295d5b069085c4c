"""The policy book: a pack rendered as a readable HTML document, each rule beside its law.

The data functions here (`book_context`, `pack_summary`, `rule_json`, `measure_history`,
`compare_stage`) are shared by `divert policy book` and the web application's policy book.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from divert import __version__
from divert.errors import InputError
from divert.law.catalogue import CATALOGUE, measures_of
from divert.law.policy import Policy, Rule
from divert.law.vocabulary import STAGES

_ENV = Environment(loader=PackageLoader("divert.reports", "templates"),
                   autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def book_context(pack: Policy, on: date | None = None) -> dict[str, Any]:
    """What the book shows: the pack, its stages, provenance counts and the practice values the
    simulation uses on `on` (default today), each as (definition, resolved value)."""
    from divert.law.practice import DEFAULTS, resolve

    on = on or date.today()
    practice = [(DEFAULTS[name], value) for name, value in resolve(pack, on).items()]
    return dict(pack=pack, stages=STAGES, version=__version__, counts=pack.provenance_counts(),
                practice=practice, practice_date=on)


def render_book(pack: Policy, on: date | None = None) -> str:
    """Self-contained HTML (no network) of the pack: parameters, rules by stage, examples, and
    the practice values the simulation uses on `on` (default today), each with its source."""
    return _ENV.get_template("book.html").render(**book_context(pack, on))


def pack_summary(pack: Policy) -> dict[str, Any]:
    """One pack in a list: code, name, hash, rule and parameter counts, provenance counts."""
    return {
        "code": pack.code, "name": pack.meta.name, "summary": pack.meta.summary, "hash": pack.hash,
        "rules": sum(len(r) for r in pack.rules.values()),
        "rules_by_stage": {s: len(pack.rules.get(s, [])) for s in STAGES},
        "parameters": len(pack.parameters), "examples": len(pack.examples),
        "provenance": pack.provenance_counts(),
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def rule_json(rule: Rule) -> dict[str, Any]:
    """One version of a measure as plain data: conditions, consent, law, dates, provenance."""
    spec = rule.spec
    return {
        "id": rule.id, "label": rule.label, "stage": rule.stage, "kind": rule.measure.kind,
        "in_force": {"from": _iso(spec.in_force.start), "to": _iso(spec.in_force.end)},
        "when": [{"test": c.text, "label": c.label} for c in rule.when],
        "unless": [{"test": c.text, "label": c.label} for c in rule.unless],
        "precedence_over": list(spec.precedence_over),
        "consent_required": spec.consent_required, "discretionary": spec.discretionary,
        "citations": rule.citations,
        "legal_basis": [lb.model_dump() for lb in spec.legal_basis],
        "notes": spec.notes, "provenance": rule.provenance,
    }


def stage_rules(pack: Policy, stage: str, on: date | None = None) -> list[Rule]:
    """The stage's rules: every dated version, or only those in force on `on`."""
    if stage not in STAGES:
        raise InputError(f"stage: unknown {stage!r}; allowed: {', '.join(STAGES)}")
    return pack.rules_in_force(stage, on) if on is not None else list(pack.rules.get(stage, []))


def _start(rule: Rule) -> date:
    return rule.spec.in_force.start or date.min


def _changes(before: Rule, after: Rule) -> list[str]:
    """What changed from one version of a measure to the next, in words."""
    out: list[str] = []
    if before.label != after.label:
        out.append(f"label: {before.label!r} -> {after.label!r}")
    for part, name in (("when", "condition"), ("unless", "exclusion")):
        old = [c.text for c in getattr(before, part)]
        new = [c.text for c in getattr(after, part)]
        out += [f"{name} removed: {t}" for t in old if t not in new]
        out += [f"{name} added: {t}" for t in new if t not in old]
    for attr, name in (("consent_required", "consent required"), ("discretionary", "discretionary")):
        a, b = getattr(before.spec, attr), getattr(after.spec, attr)
        if a != b:
            out.append(f"{name}: {'yes' if a else 'no'} -> {'yes' if b else 'no'}")
    old_p, new_p = set(before.spec.precedence_over), set(after.spec.precedence_over)
    out += [f"no longer takes precedence over {m}" for m in sorted(old_p - new_p)]
    out += [f"now takes precedence over {m}" for m in sorted(new_p - old_p)]
    out += [f"law no longer cited: {c}" for c in before.citations if c not in after.citations]
    out += [f"law newly cited: {c}" for c in after.citations if c not in before.citations]
    return out or ["re-enacted without change to conditions, consent or the law cited"]


def measure_history(pack: Policy, measure: str) -> dict[str, Any]:
    """Every dated version of one measure in a pack, oldest first, each with what changed."""
    if measure not in CATALOGUE:
        raise InputError(f"measure: unknown {measure!r}; allowed: {', '.join(CATALOGUE)}")
    stage = CATALOGUE[measure].stage
    versions = sorted((r for r in pack.rules.get(stage, []) if r.id == measure), key=_start)
    if not versions:
        offered = sorted({r.id for rules in pack.rules.values() for r in rules})
        raise InputError(f"measure: {pack.code} has no rule for {measure!r}; allowed: "
                         f"{', '.join(offered)}")
    out = []
    for i, rule in enumerate(versions):
        item = rule_json(rule)
        item["changes"] = (["first version in the pack"] if i == 0
                           else _changes(versions[i - 1], rule))
        out.append(item)
    return {"jurisdiction": pack.code, "name": pack.meta.name, "measure": measure,
            "stage": stage, "label": CATALOGUE[measure].label, "kind": CATALOGUE[measure].kind,
            "versions": out}


def compare_stage(left: Policy, right: Policy, stage: str, on: date | None = None) -> dict[str, Any]:
    """Two packs' rules for one stage side by side, one row per catalogue measure either offers
    (every dated version, or only those in force on `on`)."""
    rules = {p.code: stage_rules(p, stage, on) for p in (left, right)}
    rows = []
    for m in measures_of(stage):
        sides = {side: [rule_json(r) for r in rules[p.code] if r.id == m.id]
                 for side, p in (("left", left), ("right", right))}
        if sides["left"] or sides["right"]:
            rows.append({"measure": m.id, "label": m.label, "kind": m.kind, **sides})
    return {"stage": stage, "on": _iso(on),
            "left": {"code": left.code, "name": left.meta.name},
            "right": {"code": right.code, "name": right.meta.name}, "rows": rows}
