"""The policy book: a pack rendered as a readable HTML document, each rule beside its law.

The data functions here (`book_context`, `pack_summary`, `rule_json`, `measure_history`,
`compare_stage`) are shared by `divert policy book` and the web application's policy book.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from divert import __version__
from divert.advice.wording import Figure, Message, render, text
from divert.errors import InputError
from divert.i18n import DEFAULT, N_, translator
from divert.law.catalogue import CATALOGUE, measures_of
from divert.law.policy import Policy, Rule
from divert.law.vocabulary import STAGES
from divert.reports.i18n import FILTERS, messages

_ENV = Environment(loader=PackageLoader("divert.reports", "templates"),
                   autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True,
                   extensions=["jinja2.ext.i18n"])
_ENV.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
_ENV.policies["ext.i18n.trimmed"] = True  # messages as extracted: whitespace folded
_ENV.filters["href"] = lambda url: safe_href(url)
_ENV.filters.update(FILTERS)


def book_context(pack: Policy, on: date | None = None) -> dict[str, Any]:
    """What the book shows: the pack, its stages, provenance counts and the practice values the
    simulation uses on `on` (default today), each as (definition, resolved value)."""
    from divert.law.practice import DEFAULTS, resolve

    on = on or date.today()
    practice = [(DEFAULTS[name], value) for name, value in resolve(pack, on).items()]
    return dict(pack=pack, stages=STAGES, version=__version__, counts=pack.provenance_counts(),
                practice=practice, practice_date=on, rule_counts=rule_counts(pack))


def render_book(pack: Policy, on: date | None = None, locale: str = DEFAULT) -> str:
    """Self-contained HTML (no network) of the pack: parameters, rules by stage, examples, and
    the practice values the simulation uses on `on` (default today), each with its source, in
    `locale` (the law's original-language text beside the English where the pack has it)."""
    return _ENV.get_template("book.html").render(**book_context(pack, on), **messages(locale))


def pack_summary(pack: Policy) -> dict[str, Any]:
    """One pack in a list: code, name, hash, rule and parameter counts, provenance counts."""
    return {
        "code": pack.code, "name": pack.meta.name, "summary": pack.meta.summary, "hash": pack.hash,
        "rules": sum(len(r) for r in pack.rules.values()),
        "rules_by_stage": {s: len(pack.rules.get(s, [])) for s in STAGES},
        "parameters": len(pack.parameters), "examples": len(pack.examples),
        "provenance": pack.provenance_counts(), "rule_provenance": rule_counts(pack),
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
        "legal_basis": [lb.plain() for lb in spec.legal_basis],
        "notes": spec.notes, "provenance": rule.provenance,
    }


def stage_rules(pack: Policy, stage: str, on: date | None = None) -> list[Rule]:
    """The stage's rules: every dated version, or only those in force on `on`."""
    if stage not in STAGES:
        raise InputError(f"stage: unknown {stage!r}; allowed: {', '.join(STAGES)}")
    return pack.rules_in_force(stage, on) if on is not None else list(pack.rules.get(stage, []))


def _start(rule: Rule) -> date:
    return rule.spec.in_force.start or date.min


def _say(msgid: str, **params: Any) -> Message:
    return Message(msgid, params)


NO_LONGER_CITED = N_("law no longer cited: %(citation)s")
NEWLY_CITED = N_("law newly cited: %(citation)s")
UNCHANGED = N_("re-enacted without change to conditions, consent or the law cited")
#: what changed in a part of a rule: (removed, added)
PART_CHANGES = {"when": (N_("condition removed: %(text)s"), N_("condition added: %(text)s")),
                "unless": (N_("exclusion removed: %(text)s"), N_("exclusion added: %(text)s"))}
FLAG_CHANGES = {"consent_required": N_("consent required: %(before)s -> %(after)s"),
                "discretionary": N_("discretionary: %(before)s -> %(after)s")}


def _changes(before: Rule, after: Rule) -> list[Message]:
    """What changed from one version of a measure to the next, in words."""
    out: list[Message] = []
    if before.label != after.label:
        out.append(_say(N_("label: %(before)s -> %(after)s"), before=repr(before.label),
                        after=repr(after.label)))
    for part, (removed, added) in PART_CHANGES.items():
        old = [c.text for c in getattr(before, part)]
        new = [c.text for c in getattr(after, part)]
        out += [_say(removed, text=t) for t in old if t not in new]
        out += [_say(added, text=t) for t in new if t not in old]
    yes, no = Message(N_("yes")), Message(N_("no"))
    for attr, msgid in FLAG_CHANGES.items():
        a, b = getattr(before.spec, attr), getattr(after.spec, attr)
        if a != b:
            out.append(_say(msgid, before=yes if a else no, after=yes if b else no))
    old_p, new_p = set(before.spec.precedence_over), set(after.spec.precedence_over)
    out += [_say(N_("no longer takes precedence over %(measure)s"), measure=m)
            for m in sorted(old_p - new_p)]
    out += [_say(N_("now takes precedence over %(measure)s"), measure=m)
            for m in sorted(new_p - old_p)]
    out += [_say(NO_LONGER_CITED, citation=c) for c in before.citations
            if c not in after.citations]
    out += [_say(NEWLY_CITED, citation=c) for c in after.citations if c not in before.citations]
    return out or [Message(UNCHANGED)]


def measure_history(pack: Policy, measure: str, locale: str = DEFAULT) -> dict[str, Any]:
    """Every dated version of one measure in a pack, oldest first, each with what changed (in
    `locale`: the reports catalogue's words; English by default, as the API gives it)."""
    if measure not in CATALOGUE:
        raise InputError(f"measure: unknown {measure!r}; allowed: {', '.join(CATALOGUE)}")
    stage = CATALOGUE[measure].stage
    versions = sorted((r for r in pack.rules.get(stage, []) if r.id == measure), key=_start)
    if not versions:
        offered = sorted({r.id for rules in pack.rules.values() for r in rules})
        raise InputError(f"measure: {pack.code} has no rule for {measure!r}; allowed: "
                         f"{', '.join(offered)}")
    t = translator(locale, "reports")
    out = []
    for i, rule in enumerate(versions):
        item = rule_json(rule)
        said = [Message(N_("first version in the pack"))] if i == 0 else _changes(
            versions[i - 1], rule)
        item["changes"] = [render(m, t) for m in said]
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


def rule_counts(pack: Policy) -> dict[str, int]:
    """Verified and unverified rules over every stage (bars, parameters and practice apart): the
    one count `divert policy list` and the web's policy book both show."""
    counts = pack.provenance_counts()
    return {k: sum(counts.get(s, {}).get(k, 0) for s in STAGES) for k in ("verified", "unverified")}


def safe_href(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) address fit for a link, else None (a javascript: or
    data: address, or a relative one, is shown as text, never linked)."""
    from urllib.parse import urlsplit

    if not url:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def _basis_json(rule: Rule, day: date) -> list[dict[str, Any]]:
    return [{"citation": lb.citation, "url": lb.url, "provenance": lb.provenance}
            for lb in rule.legal_basis_at(day)]


def _rule_change(measure: str, label: str, stage: str, change: str, before: list[Rule],
                 after: list[Rule], a: date, b: date, said: bool = False) -> dict[str, Any]:
    what: list[Message]
    if change == "changed" and len(before) == 1 and len(after) == 1:
        what = _changes(before[0], after[0])
    elif change == "added":
        what = [Message(N_("in force on the later date, not on the earlier"))]
        what += [_say(N_("condition: %(text)s"), text=c.text) for r in after for c in r.when]
        what += [_say(N_("exclusion: %(text)s"), text=c.text) for r in after for c in r.unless]
    elif change == "removed":
        what = [Message(N_("in force on the earlier date, no longer on the later"))]
    else:
        what = [_say(N_("the versions in force differ: %(before)s on the earlier date, %(after)s "
                        "on the later"), before=Figure(len(before), "d"),
                     after=Figure(len(after), "d"))]
    law_a = [c for r in before for c in _basis_json(r, a)]
    law_b = [c for r in after for c in _basis_json(r, b)]
    cited_a, cited_b = {c["citation"] for c in law_a}, {c["citation"] for c in law_b}
    if change == "changed" and len(before) == len(after) == 1:
        what = [w for w in what if w.msgid not in (NO_LONGER_CITED, NEWLY_CITED)]
        what += [_say(NO_LONGER_CITED, citation=c) for c in sorted(cited_a - cited_b)]
        what += [_say(NEWLY_CITED, citation=c) for c in sorted(cited_b - cited_a)]
        if not what:
            what = [Message(UNCHANGED)]
    return {"stage": stage, "measure": measure, "label": label, "change": change,
            "changes": what if said else [text(w) for w in what],
            "before": [{"in_force": rule_json(r)["in_force"]} for r in before],
            "after": [{"in_force": rule_json(r)["in_force"]} for r in after],
            "law_before": law_a, "law_after": law_b}


def _value_text(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return NOT_IN_FORCE if value is None else str(value)


NOT_IN_FORCE = N_("not in force")  # a value before its law (the command line translates it)


def changes_between(pack: Policy, a: date, b: date, said: bool = False) -> dict[str, Any]:
    """Only what differs in the pack's law and practice between dates `a` and `b`: each measure
    whose rule in force changed (added, removed or a new version, with what changed and the law
    cited on each date), each law parameter and each practice value that differs, with sources.
    What changed in a rule is English text, or with `said` messages of the reports catalogue
    (for the command line to write in its language; not JSON)."""
    from divert.law.practice import DEFAULTS, resolve

    if a > b:
        raise InputError(f"to: {b.isoformat()} is before from {a.isoformat()}; give the earlier "
                         "date first")
    rules: list[dict[str, Any]] = []
    for stage in STAGES:
        for m in measures_of(stage):
            before = [r for r in pack.rules_in_force(stage, a) if r.id == m.id]
            after = [r for r in pack.rules_in_force(stage, b) if r.id == m.id]
            if [id(r) for r in before] == [id(r) for r in after]:
                continue
            change = ("added" if not before else "removed" if not after else "changed")
            label = (after or before)[0].label
            rules.append(_rule_change(m.id, label, stage, change, before, after, a, b, said))
    params = []
    for name, p in pack.parameters.items():
        va, vb = p.at(a), p.at(b)
        if va != vb:
            params.append({"name": name, "description": p.spec.description, "unit": p.spec.unit,
                           "before": _value_text(va), "after": _value_text(vb),
                           "citation": p.spec.citation, "provenance": p.spec.provenance})
    pa, pb = resolve(pack, a), resolve(pack, b)
    practice = []
    for name, va in pa.items():
        vb = pb[name]
        if va.value != vb.value:
            practice.append({"name": name, "description": DEFAULTS[name].description,
                             "unit": DEFAULTS[name].unit, "before": _value_text(va.value),
                             "after": _value_text(vb.value), "citation": vb.citation,
                             "provenance": vb.provenance, "source": vb.source})
    return {"jurisdiction": pack.code, "name": pack.meta.name, "from": a.isoformat(),
            "to": b.isoformat(), "rules": rules, "parameters": params, "practice": practice}


def _rule_text(rule: Rule) -> list[tuple[str, str]]:
    """The searchable parts of a rule: (where, text)."""
    spec = rule.spec
    parts = [("measure", f"{rule.id} {rule.label}")]
    parts += [("condition", f"{c.label or ''} {c.text}") for c in (*rule.when, *rule.unless)]
    parts += [("citation", lb.citation) for lb in spec.legal_basis]
    parts += [("law", lb.text) for lb in spec.legal_basis]
    if spec.notes:
        parts.append(("notes", spec.notes))
    return parts


def search(packs: list[Policy], query: str, limit: int = 200) -> list[dict[str, Any]]:
    """Rules whose measure (id or label), conditions, citations, law text or notes contain every
    word of `query` (case-insensitive), each with where the words were found."""
    words = query.casefold().split()
    if not words:
        return []
    hits: list[dict[str, Any]] = []
    for pack in packs:
        for stage in STAGES:
            for rule in pack.rules.get(stage, []):
                parts = _rule_text(rule)
                text = " ".join(t for _, t in parts).casefold()
                if not all(w in text for w in words):
                    continue
                found = [(where, t) for where, t in parts if any(w in t.casefold() for w in words)]
                hits.append({"jurisdiction": pack.code, "name": pack.meta.name, "stage": stage,
                             "measure": rule.id, "label": rule.label, "kind": rule.measure.kind,
                             "in_force": rule_json(rule)["in_force"],
                             "matches": [{"where": w, "text": t.strip()} for w, t in found[:4]],
                             "citations": rule.citations})
                if len(hits) >= limit:
                    return hits
    return hits
