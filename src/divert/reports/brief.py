"""A country brief: the law, who is convicted or treated, the problems people face, what reforms
did and what could improve, in plain language, every figure with its source.

`build(code, sizes)` returns the brief as data: each figure is `{"value": ..., "source": ...}`,
the source either a pack file with its citation and provenance, or a simulation run named in
`runs` with the stamp that replays it. `render_html` writes it as one self-contained page.
Pure apart from running the simulation; reading files and writing stay in the callers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from jinja2 import ChoiceLoader, Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape

from divert import __version__
from divert.i18n import DEFAULT, N_, Translator, translator
from divert.law import words
from divert.law.catalogue import measures_of
from divert.law.policy import Policy, load, read_yaml
from divert.law.vocabulary import STAGES
from divert.reports.i18n import FILTERS, messages
from divert.simulation.outcomes import PUBLIC, costs, interval, resolved
from divert.simulation.run import SERIES
from divert.simulation.runner import Comparison, check_sizes, run_comparison
from divert.studies.countries import NOT_RESOLVED, CountryResult

LEVERS = ("treatment_not_conviction", "prison_treatment", "equivalence_of_care",
          "treatment_scale_up", "prevention")
"""The scenario levers a brief simulates, each an overlay in policies/<code>/scenarios/."""
ROOTS = {
    "treatment_not_conviction": N_("alternatives at every stage, by established criteria"),
    "prison_treatment": N_("treatment in prison and at release"),
    "equivalence_of_care": N_("treatment in prison equal to the community's (equivalence of care)"),
    "treatment_scale_up": N_("treatment programmes scaled up"),
    "prevention": N_("prevention and drug education (lower initiation)"),
}
CONVENTION = "United Nations Convention against Illicit Traffic in Narcotic Drugs and " \
             "Psychotropic Substances, 1988, art. 3(4)"
ART_3_4 = {
    "police": N_("(c)-(d): in appropriate cases of a minor nature, and for possession for personal "
              "consumption, education, rehabilitation or social reintegration, and treatment and "
              "aftercare for a drug abuser, as alternatives to conviction or punishment"),
    "prosecution": N_("(c)-(d): alternatives to conviction for minor offences and personal "
                   "consumption (treatment, education, aftercare, rehabilitation, reintegration)"),
    "court": N_("(b)-(d): treatment, education, aftercare, rehabilitation or social reintegration "
             "in addition to, or (minor cases, personal consumption) instead of, conviction or "
             "punishment"),
    "post_sentence": N_("(b): treatment, education, aftercare, rehabilitation or social "
                     "reintegration in addition to punishment"),
}


@dataclass(frozen=True)
class Sizes:
    """How large the brief's simulation is (modest by default: a brief in seconds)."""

    persons: int = 4000
    replications: int = 3
    years: int = 10
    seed: int = 0
    start: date = date(2026, 1, 1)
    workers: int = 1
    backtest_persons: int = 3000
    backtest_replications: int = 2
    today: date = field(default_factory=date.today)


def fig(value: Any, source: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A figure with its source."""
    return {"value": value, "source": source, **extra}


def pack_source(pack: Policy, file: str, citation: str, provenance: str = "unverified",
                url: str | None = None) -> dict[str, Any]:
    """A source in a pack file: its citation and provenance."""
    out = {"kind": "pack", "file": f"policies/{pack.code}/{file}", "citation": citation,
           "provenance": provenance}
    return out | ({"url": url} if url else {})


def run_source(run: str, scenario: str, metric: str) -> dict[str, Any]:
    """A source in a stamped simulation run of the brief (`runs[run]`)."""
    return {"kind": "run", "run": run, "scenario": scenario, "metric": metric}


# --- the law -------------------------------------------------------------------------------------


def _stage_file(stage: str) -> str:
    return f"{stage}.yaml"


def law_today(pack: Policy, today: date) -> dict[str, list[dict[str, Any]]]:
    """The measures in force today, stage by stage, each with its law."""
    out: dict[str, list[dict[str, Any]]] = {}
    for stage in STAGES:
        out[stage] = [fig(r.label, pack_source(pack, _stage_file(stage), "; ".join(r.citations),
                                               r.provenance),
                          id=r.id, kind=r.measure.kind,
                          consent_required=r.spec.consent_required)
                      for r in pack.rules_in_force(stage, today)]
    return out


def history(pack: Policy) -> list[dict[str, Any]]:
    """The dated reforms: each date on which a measure came into force or ended, a law
    parameter changed, or a more lenient law took effect, oldest first."""
    events: dict[date, list[dict[str, Any]]] = {}
    for stage in STAGES:
        for r in pack.rules.get(stage, []):
            for day, what in ((r.spec.in_force.start, "in force"), (r.spec.in_force.end, "ends")):
                if day is None:
                    continue
                src = pack_source(pack, _stage_file(stage), "; ".join(r.citations), r.provenance)
                events.setdefault(day, []).append(
                    fig(f"{r.label}: {what}", src, id=r.id, stage=stage, label=r.label,
                        event=what.replace(" ", "_")))
    for name, param in pack.parameters.items():
        spec = param.spec
        for day in sorted(spec.values)[1:]:
            src = pack_source(pack, "parameters.yaml", spec.citation, spec.provenance, spec.url)
            events.setdefault(day, []).append(fig(
                f"{(spec.description or name).rstrip('.')}: new value", src, id=name,
                stage="parameter", label=(spec.description or name).rstrip("."), event="new_value"))
    for law in pack.meta.lex_mitior:
        src = pack_source(pack, "pack.yaml", "; ".join(lb.citation for lb in law.legal_basis),
                          "verified" if all(lb.provenance == "verified"
                                            for lb in law.legal_basis) else "unverified")
        events.setdefault(law.start, []).append(fig(f"{law.law} (applies to earlier cases too)",
                                                    src, id="lex_mitior", stage="law",
                                                    label=law.law, event="lex_mitior"))
    return [{"date": d.isoformat(), "changes": events[d]} for d in sorted(events)]


def _alternatives(pack: Policy, stage: str, day: date) -> list[Any]:
    return [r for r in pack.rules_in_force(stage, day) if r.measure.kind == "alternative"]


def against_model(pack: Policy, model: Policy, today: date) -> list[dict[str, Any]]:
    """Stage by stage: the alternatives this country's law has, those of the UNODC/WHO model
    pack, what the model has that the country lacks, and the 1988 Convention's option."""
    rows = []
    for stage in STAGES:
        mine, theirs = _alternatives(pack, stage, today), _alternatives(model, stage, today)
        have = {r.id for r in mine}
        file = _stage_file(stage)
        rows.append({
            "stage": stage,
            "country": [fig(r.label, pack_source(pack, file, "; ".join(r.citations),
                                                 r.provenance), id=r.id) for r in mine],
            "model": [fig(r.label, pack_source(model, file, "; ".join(r.citations),
                                               r.provenance), id=r.id) for r in theirs],
            "missing": [fig(r.label, pack_source(model, file, "; ".join(r.citations),
                                                 r.provenance), id=r.id)
                        for r in theirs if r.id not in have],
            "coercive": [fig(r.label, pack_source(pack, file, "; ".join(r.citations),
                                                  r.provenance), id=r.id)
                         for r in pack.rules_in_force(stage, today)
                         if r.measure.kind == "coercive"],
            "convention": fig(ART_3_4[stage], {"kind": "treaty", "citation": CONVENTION,
                                               "provenance": "verified"}),
            "catalogue": [m.id for m in measures_of(stage) if m.kind == "alternative"],
        })
    return rows


# --- the simulation ------------------------------------------------------------------------------


def scenarios_of(pack: Policy) -> list[str]:
    """The baseline and every lever the pack ships."""
    here = pack.path / "scenarios"
    return [pack.code, *(f"{pack.code}+{lv}" for lv in LEVERS if (here / f"{lv}.yaml").exists())]


def simulate(pack: Policy, sizes: Sizes) -> Comparison:
    """The baseline and the levers over `sizes.years`, at central values (common random numbers)."""
    months = 12 * sizes.years
    check_sizes(sizes.persons, months, sizes.seed)
    return run_comparison(scenarios_of(pack), persons=sizes.persons, months=months,
                          start=sizes.start, replications=sizes.replications, seed=sizes.seed,
                          workers=sizes.workers, uncertainty=False)


def _per_rep(c: Comparison, scenario: str, metric: str, how: str) -> np.ndarray:
    i = SERIES.index(metric)
    rs = c.results[scenario]
    if how == "final":
        return np.array([r.series[-12:, i].mean() * r.scale for r in rs])
    if how == "per_year":
        return np.array([r.series[:, i].sum() * r.scale * 12 / r.months for r in rs])
    return np.array([r.series[:, i].sum() * r.scale for r in rs])


def _est(values: np.ndarray, source: dict[str, Any], unit: str) -> dict[str, Any]:
    """A simulated count or share with its 95% interval (a count is never below zero)."""
    d = interval(values)
    return fig(d["mean"], source, unit=unit, low=max(d["ci_low"], 0.0), high=d["ci_high"],
               mcse=d["mcse"], n=d["n"])


def _ratio(num: np.ndarray, den: np.ndarray, per: float = 100.0) -> np.ndarray:
    return np.where(den > 0, per * num / np.maximum(den, 1e-12), 0.0)


def flow(c: Comparison, base: str) -> dict[str, Any]:
    """Convicted or treated today: of 100 police contacts for an offence, how many are arrested,
    diverted (an alternative at any stage), prosecuted, convicted, imprisoned; the stocks in
    prison and in treatment (baseline, last year)."""
    def total(m: str) -> np.ndarray:
        return _per_rep(c, base, m, "total")

    def src(m: str) -> dict[str, Any]:
        return run_source("baseline", base, m)

    contacts = total("police_contacts")
    out: dict[str, Any] = {
        f"{k}_per_100_contacts": _est(_ratio(total(m), contacts), src(m),
                                      "per 100 police contacts")
        for k, m in (("arrested", "arrests"), ("diverted", "diversions"), ("prosecuted", "prosecutions"),
                     ("convicted", "convictions"), ("imprisoned", "prison_admissions"))}
    final = {m: _per_rep(c, base, m, "final") for m in (
        "in_prison", "in_prison_drug_offence", "in_prison_treatment", "in_community_treatment",
        "active_disorder", "in_compulsory_treatment")}
    out["arrests_per_year"] = _est(_per_rep(c, base, "arrests", "per_year"), src("arrests"),
                                   "per year")
    out["prisoners"] = _est(final["in_prison"], src("in_prison"), "people")
    out["drug_prisoners"] = _est(final["in_prison_drug_offence"], src("in_prison_drug_offence"),
                                 "people")
    out["treatment_coverage_community"] = _est(
        _ratio(final["in_community_treatment"], final["active_disorder"]),
        src("in_community_treatment"), "% of people with an active moderate or severe disorder")
    out["treatment_in_prison"] = _est(_ratio(final["in_prison_treatment"], final["in_prison"]),
                                      src("in_prison_treatment"), "% of prisoners")
    out["in_compulsory_centres"] = _est(final["in_compulsory_treatment"],
                                        src("in_compulsory_treatment"), "people")
    return out


def problems(c: Comparison, pack: Policy, base: str, today: date) -> dict[str, Any]:
    """Problems people face: deaths, waiting, coercion (simulated), the coercive law in force,
    and the observed figures the pack cites (targets.yaml)."""
    def yearly(m: str) -> dict[str, Any]:
        return _est(_per_rep(c, base, m, "per_year"), run_source("baseline", base, m), "per year")

    out: dict[str, Any] = {m: yearly(m) for m in (
        "overdose_deaths", "overdose_deaths_after_release", "waitlisted",
        "compulsory_admissions", "corporal_punishments", "death_sentences")}
    out["coercive_law"] = [
        fig(r.label, pack_source(pack, _stage_file(st), "; ".join(r.citations), r.provenance),
            id=r.id, stage=st)
        for st in STAGES for r in pack.rules_in_force(st, today) if r.measure.kind == "coercive"]
    out["observed"] = observed_targets(pack)
    return out


def observed_targets(pack: Policy) -> list[dict[str, Any]]:
    """The observed figures of the pack's targets.yaml, each with its citation."""
    path = pack.path / "targets.yaml"
    if not path.exists():
        return []
    data = read_yaml(path) or {}
    return [fig(t["value"], pack_source(pack, "targets.yaml", t["citation"],
                                        t.get("provenance", "unverified")),
                name=t["name"], period=str(t.get("period", "")),
                description=" ".join(str(t.get("description", "")).split()))
            for t in data.get("targets", [])]


EFFECTS = (("drug_prisoners_final_year", "people in prison for drug offences (last year)",
            "in_prison_drug_offence"),
           ("prisoners_final_year", "people in prison (last year)", "in_prison"),
           ("overdose_deaths_10y", "overdose deaths (ten years)", "overdose_deaths"),
           ("treatment_coverage_final_year", "treatment coverage in the community (last year)",
            "in_community_treatment"))


def _effect(d: dict[str, Any], source: dict[str, Any], unit: str) -> dict[str, Any]:
    ok = resolved(d)
    return fig(d["mean"], source, unit=unit, low=d["ci_low"], high=d["ci_high"], mcse=d["mcse"],
               resolved=ok, verdict=None if ok else NOT_RESOLVED)


def levers(c: Comparison, pack: Policy) -> list[dict[str, Any]]:
    """Each lever against today's law over the run: effects on prisoners, overdose deaths,
    coverage, public costs and net benefit, with 95% intervals, 'not resolved' where an interval
    includes zero."""
    from divert.simulation.scenarios import load_overlay

    base = c.scenarios[0]
    out = []
    for scenario in c.scenarios[1:]:
        lever = scenario.split("+", 1)[1]
        sub = Comparison([base, scenario], {s: c.results[s] for s in (base, scenario)}, c.stamp,
                         {s: c.policies[s] for s in (base, scenario) if s in c.policies})
        head = CountryResult(pack.code, pack.meta.name, pack.meta.currency or "", sub).headline
        overlay = load_overlay(pack.path / "scenarios" / f"{lever}.yaml")
        file = f"scenarios/{lever}.yaml"
        effects = {key: _effect(head[key]["difference"], run_source("levers", scenario, metric),
                                label) for key, label, metric in EFFECTS}
        pub = [(sum(costs(b)[s] * b.scale for s in PUBLIC), sum(costs(r)[s] * r.scale
                                                             for s in PUBLIC))
               for b, r in zip(c.results[base], c.results[scenario], strict=True)]
        effects["public_costs_10y"] = _effect(interval([r - b for b, r in pub]),
                                              run_source("levers", scenario, "cost_total"),
                                              f"{pack.meta.currency or ''}, discounted")
        for view in ("public", "society"):
            effects[f"net_benefit_{view}"] = _effect(
                head["economics"][view]["net_benefit"],
                run_source("levers", scenario, "economics"),
                f"{pack.meta.currency or ''}, discounted")
        out.append({
            "lever": lever, "root": ROOTS.get(lever, lever), "title": overlay.title,
            "summary": " ".join((overlay.summary or "").split()),
            "changes": [fig(text, pack_source(pack, file, ch.spec.citation))
                        for text, ch in zip(overlay.describe(), overlay.changes, strict=True)],
            "effects": effects,
        })
    return out


def reforms(pack: Policy, sizes: Sizes) -> list[dict[str, Any]]:
    """Each backtested change of law: simulated yearly figures beside the observed ones."""
    from divert.studies.backtest import backtest

    if not (pack.path / "backtest.yaml").exists():
        return []
    bt = backtest(pack, persons=sizes.backtest_persons, replications=sizes.backtest_replications,
                  seed=sizes.seed)
    src_file = "backtest.yaml"
    rows = []
    for metric, obs in bt.spec.observed.items():
        for year, value in sorted(obs.values.items()):
            sim = bt.simulated.get(metric)
            k = bt.years.index(int(year)) if sim and int(year) in bt.years else None
            rows.append({
                "metric": metric, "year": int(year), "description": obs.description,
                "observed": fig(value, pack_source(pack, src_file, obs.citation, obs.provenance)),
                "simulated": (fig(sim["mean"][k],  # type: ignore[index]  # k is set only with sim
                                  run_source("backtest", pack.code, metric),
                                  low=sim["low"][k], high=sim["high"][k])  # type: ignore[index]
                              if k is not None else None)})
    return [{"date": bt.spec.change.date.isoformat(),
             "description": " ".join(bt.spec.change.description.split()),
             "before_after": {m: bt.before_after(m) for m in ("arrests", "in_prison",
                                                              "overdose_deaths")
                              if m in bt.simulated},
             "rows": rows, "stamp": bt.stamp}]


def build(code: str, sizes: Sizes | None = None) -> dict[str, Any]:
    """The brief of pack `code` as data (runs the baseline, the levers and any backtest)."""
    sizes = sizes or Sizes()
    pack, model = load(code), load("model")
    c = simulate(pack, sizes)
    base = c.scenarios[0]
    back = reforms(pack, sizes)
    runs = {"baseline": c.stamp, "levers": c.stamp}
    if back:
        runs["backtest"] = back[0]["stamp"]
    return {
        "jurisdiction": pack.code, "name": pack.meta.name, "currency": pack.meta.currency,
        "summary": " ".join(pack.meta.summary.split()), "divert": __version__,
        "pack_hash": pack.hash, "today": sizes.today.isoformat(),
        "sources": [s.model_dump() for s in pack.meta.sources],
        "law": {"today": law_today(pack, sizes.today), "history": history(pack)},
        "against_model": against_model(pack, model, sizes.today),
        "flow": flow(c, base),
        "problems": problems(c, pack, base, sizes.today),
        "reforms": back,
        "levers": levers(c, pack),
        "runs": runs,
        "replay": replay(code, sizes),
        "method_sizes": {"persons": sizes.persons, "replications": sizes.replications},
        "method": (f"{sizes.persons:,} simulated people, {sizes.replications} replications at "
                   "central parameter values with common random numbers; intervals are 95% "
                   "confidence intervals of the mean over replications; a difference whose "
                   f"interval includes zero is '{NOT_RESOLVED}'. Parameter uncertainty is not "
                   "in these intervals (divert countries draws it)."),
    }


def replay(code: str, sizes: Sizes) -> str | None:
    """The `divert brief` command that runs the brief's simulations again, or None where its
    sizes are not the command's (the command runs the backtest with --persons, two replications,
    from January 2026)."""
    default = Sizes()
    if (sizes.backtest_persons, sizes.backtest_replications, sizes.start) != (
            sizes.persons, default.backtest_replications, default.start):
        return None
    return (f"divert brief {code} --persons {sizes.persons} --replications {sizes.replications} "
            f"--years {sizes.years} --seed {sizes.seed}")


def figures(brief: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every figure in a brief (a mapping with `value` and `source`), with its path."""
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(brief, dict):
        if "value" in brief and "source" in brief:
            out.append((path, brief))
        for k, v in brief.items():
            if k != "source":
                out += figures(v, f"{path}.{k}" if path else str(k))
    elif isinstance(brief, list):
        for i, v in enumerate(brief):
            out += figures(v, f"{path}[{i}]")
    return out


def unsourced(brief: dict[str, Any]) -> list[str]:
    """The paths of figures without a citation or a stamped run (none, in a good brief)."""
    bad = []
    for path, f in figures(brief):
        src = f.get("source") or {}
        if src.get("kind") == "run":
            if src.get("run") not in brief.get("runs", {}):
                bad.append(path)
        elif not src.get("citation"):
            bad.append(path)
    return bad


_ENV = Environment(loader=ChoiceLoader([PackageLoader("divert.reports", "templates"),
                                       PackageLoader("divert", "web/templates")]),
                   autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True,
                   extensions=["jinja2.ext.i18n"])
_ENV.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
_ENV.policies["ext.i18n.trimmed"] = True  # messages as extracted: whitespace folded
_ENV.filters.update(FILTERS)


def number(value: Any, locale: str = DEFAULT) -> str:
    """A figure in plain words: thousands separated, a few significant digits (in `locale`'s
    digits and separators)."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    v = float(value)
    if v != v:
        return "-"
    if locale != DEFAULT:
        t = translator(locale, "reports")
        if abs(v) >= 100:
            return t.number(round(v), 0)
        if abs(v) < 1:
            return t.number(float(f"{v:.2g}"))
        return t.number(v, 1)
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.2g}" if abs(v) < 1 else f"{v:.1f}"


@pass_context
def _number(context: Context, value: Any) -> str:
    return number(value, str(context.get("lang") or DEFAULT))


@pass_context
def _digits(context: Context, value: Any) -> str:
    """Text with its digits in the page's language's (a source's number, [12] in Persian)."""
    return translator(str(context.get("lang") or DEFAULT), "reports").digits(str(value))


_ENV.filters.update(figure=_number, digits=_digits)


def referenced(brief: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A copy of the brief whose figures carry `ref`, the number of their source in the list."""
    import copy
    import json

    out = copy.deepcopy(brief)
    index: dict[str, int] = {}
    sources: list[dict[str, Any]] = []
    for _, f in figures(out):
        key = json.dumps(f["source"], sort_keys=True, default=str)
        if key not in index:
            sources.append(f["source"])
            index[key] = len(sources)
        f["ref"] = index[key]
    return out, sources


def context(brief: dict[str, Any], locale: str = DEFAULT) -> dict[str, Any]:
    """What the brief's templates need: the brief with references, its sources, the stages, the
    separator of a list (the stamp's packs), in `locale` (see `localized`)."""
    b, sources = referenced(localized(brief, locale))
    names = {st: words.stage_name(st, locale) if locale != DEFAULT else st.replace("_", " ")
             for st in STAGES}
    if locale != DEFAULT:
        for s in sources:
            if s.get("provenance"):
                s["provenance_name"] = words.word(words.PROVENANCE_LABELS, s["provenance"], locale)
    return {"b": b, "sources": sources, "stages": STAGES, "stage_names": names,
            "lang_marks": locale != DEFAULT,
            "list_sep": translator(locale, "reports").list_separator()}


#: what a dated event of the law's history says, by kind (the measure's or law's name in it)
EVENTS = {"in_force": N_("%(what)s: in force"), "ends": N_("%(what)s: ends"),
          "new_value": N_("%(what)s: new value"),
          "lex_mitior": N_("%(what)s (applies to earlier cases too)")}
RUNS = {"baseline": N_("baseline"), "levers": N_("levers"), "backtest": N_("backtest")}
METHOD = N_("%(persons)s simulated people, %(replications)s replications at central parameter "
            "values with common random numbers; intervals are 95%% confidence intervals of the "
            "mean over replications; a difference whose interval includes zero is '%(verdict)s'. "
            "Parameter uncertainty is not in these intervals (divert countries draws it).")
_VERDICT = N_("not resolved at this precision")


def localized(brief: dict[str, Any], locale: str = DEFAULT) -> dict[str, Any]:
    """A copy of the brief in `locale`: the law's labels (measures, lever titles) from the law
    catalogue, the brief's own words (roots, the Convention's option, the method, verdicts,
    history events) from the reports catalogue, dates and numbers in the language's form. What
    the packs write only in English (summaries, descriptions, an overlay's changes, citations)
    stays English and carries `lang: "en"`, so the page marks it. English: the brief unchanged."""
    import copy

    if locale == DEFAULT:
        return brief
    b = copy.deepcopy(brief)
    t = translator(locale, "reports")

    def label_of(text: str) -> tuple[str, str | None]:
        out = words.label(text, locale)
        return out, ("en" if out == text else None)

    def mark(x: dict[str, Any], key: str) -> None:
        x[key], lang = label_of(str(x[key]))
        if lang:
            x["lang"] = lang

    b["summary_lang"] = "en"
    b["today_text"] = _day(b.get("today"), t)
    for items in b["law"]["today"].values():
        for m in items:
            mark(m, "value")
            m["kind_name"] = words.word(words.KIND_LABELS, m.get("kind", ""), locale)
    for ev in b["law"]["history"]:
        ev["date_text"] = _day(ev["date"], t)
        for c in ev["changes"]:
            if "event" in c and c["event"] in EVENTS:
                what, lang = label_of(str(c["label"]))
                if lang:  # the pack's English inside the sentence, marked as English
                    what = Markup('<span lang="en" dir="ltr">%s</span>') % what
                c["value"] = Markup(escape(t.gettext(EVENTS[c["event"]]))) % {"what": what}
            else:
                c["lang"] = "en"
    for row in b["against_model"]:
        row["stage_name"] = words.stage_name(row["stage"], locale)
        for key in ("country", "model", "missing", "coercive"):
            for m in row[key]:
                mark(m, "value")
        conv = row["convention"]
        english = str(conv["value"])
        conv["value"] = t.gettext(english)
        if conv["value"] == english:
            conv["lang"] = "en"
    for m in b["problems"]["coercive_law"]:
        mark(m, "value")
        m["stage_name"] = words.stage_name(m.get("stage", ""), locale)
    for o in b["problems"]["observed"]:
        o["lang"] = "en"
    for r in b["reforms"]:
        r["date_text"] = _day(r["date"], t)
        r["lang"] = "en"
        for row in r["rows"]:
            row["lang"] = "en"
            row["year_text"] = t.digits(str(row["year"]))
    for lv in b["levers"]:
        lv["title"], lang = label_of(str(lv["title"]))
        if lang:
            lv["title_lang"] = lang
        lv["root"] = t.gettext(str(lv["root"]))
        for ch in lv["changes"]:
            ch["lang"] = "en"
        for e in lv["effects"].values():
            if e.get("verdict"):
                e["verdict"] = t.gettext(_VERDICT)
    sizes = b.get("method_sizes")
    if sizes:
        b["method"] = t.gettext(METHOD) % {"persons": t.number(sizes["persons"]),
                                           "replications": t.number(sizes["replications"]),
                                           "verdict": t.gettext(_VERDICT)}
    else:
        b["method_lang"] = "en"
    b["run_names"] = {name: t.gettext(RUNS[name]) if name in RUNS else name for name in b["runs"]}
    b["divert_text"] = t.digits(str(b.get("divert", "")))
    b["runs_text"] = {name: stamp_text(st, t) for name, st in b["runs"].items()}
    for _path, f in figures(b):
        if f["source"].get("kind") == "run":
            f["source"]["run_name"] = b["run_names"].get(f["source"]["run"], f["source"]["run"])
    return b


def stamp_text(stamp: dict[str, Any], t: Translator) -> dict[str, str]:
    """A run's stamp as its line reads in `t`'s language: counts in the language's digits and
    separators, the seed and divert's version in its digits, the first month in words. (Pack
    hashes and scenario codes stay as they are, in <code>: they are what a machine compares.)"""
    start = str(stamp.get("start", ""))
    try:
        first = t.month(date.fromisoformat(start + "-01"))
    except ValueError:
        first = t.digits(start)
    return {"divert": t.digits(str(stamp.get("divert", ""))),
            "seed": t.digits(str(stamp.get("seed", ""))),
            "persons": _count(stamp.get("persons"), t), "months": _count(stamp.get("months"), t),
            "replications": _count(stamp.get("replications"), t), "start": first}


def _count(value: Any, t: Translator) -> str:
    return t.number(value) if isinstance(value, int | float) else t.digits(str(value or ""))


def _day(value: Any, t: Any) -> str:
    """An ISO date in the translator's language (as given when it is not a date)."""
    try:
        return str(t.date(date.fromisoformat(str(value)), "long"))
    except ValueError:
        return str(value)


def render_html(brief: dict[str, Any], locale: str = DEFAULT) -> str:
    """The brief as one self-contained, printable HTML page (no network), in `locale` (the
    reports catalogue, then the web's for the body the brief shares with the web)."""
    return _ENV.get_template("brief.html").render(**context(brief, locale),
                                                  **messages(locale, ("reports", "web")))


def summary_text(brief: dict[str, Any]) -> str:
    """A few lines for the terminal: the flow today and each lever's headline effects."""
    f = brief["flow"]
    lines = [f"{brief['name']}: {number(f['prisoners']['value'])} in prison, "
             f"{number(f['drug_prisoners']['value'])} for drug offences; treatment coverage "
             f"{number(f['treatment_coverage_community']['value'])}% in the community, "
             f"{number(f['treatment_in_prison']['value'])}% of prisoners"]
    for lv in brief["levers"]:
        e = lv["effects"]
        parts = []
        for key, label in (("drug_prisoners_final_year", "drug prisoners"),
                           ("overdose_deaths_10y", "overdose deaths"),
                           ("net_benefit_society", "net benefit to society")):
            x = e[key]
            parts.append(f"{label} {number(x['value']) if x['resolved'] else x['verdict']}")
        lines.append(f"  {lv['title']}: " + "; ".join(parts))
    return "\n".join(lines)
