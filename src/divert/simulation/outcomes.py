"""Outcomes of simulated runs: totals, discounted costs, cohort rearrest, scenario differences.

Pure functions over `RunResult`s; writing files and printing stay in `runner` and `cli`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from divert.simulation.decisions import PATHWAYS
from divert.simulation.run import COHORT_YEARS, COST_SECTORS, SERIES, RunResult, add_months

TOTALS = ("alive_start", "entrants", "exits", "exits_ceased", "arrests", "prosecutions",
          "convictions", "diversions", "prison_person_months",
          "prison_drug_offence_person_months", "treatment_person_months", "nondrug_offences",
          "overdose_deaths", "overdose_deaths_after_release", "deaths", "prison_admissions",
          "life_years_lost", "cost_total", "cost_total_discounted",
          *(f"cost_{s}_discounted" for s in COST_SECTORS), "cost_victims_discounted")
"""Totals of a run. The books balance: final alive = alive_start + entrants - deaths - exits
(exits: ageing out and sustained remission, `exits_ceased`)."""
FINAL = ("alive", "in_prison", "in_treatment")


def totals(result: RunResult) -> dict[str, float]:
    """Totals over the run for the simulated sample (multiply by `scale` for the population)."""
    s = result.series
    col = {name: s[:, i] for i, name in enumerate(SERIES)}
    rate = float(result.values.get("discount_rate_per_year", 0.0))
    factor = (1.0 + rate) ** (-np.arange(result.months) / 12.0)
    out = {
        "alive_start": result.start_alive or float(result.persons),
        "entrants": col["entrants"].sum(),
        "exits": col["exits"].sum(),
        "exits_ceased": col["exits_ceased"].sum(),
        "prison_drug_offence_person_months": col["in_prison_drug_offence"].sum(),
        "nondrug_offences": (col["offences_property"] + col["offences_violent"]
                             + col["offences_other"]).sum(),
        "cost_victims_discounted": (col["cost_victims"] * factor).sum(),
        "arrests": col["arrests"].sum(),
        "prosecutions": col["prosecutions"].sum(),
        "convictions": col["convictions"].sum(),
        "diversions": col["diversions"].sum(),
        "prison_person_months": col["in_prison"].sum(),
        "treatment_person_months": col["in_treatment"].sum(),
        "overdose_deaths": col["overdose_deaths"].sum(),
        "overdose_deaths_after_release": col["overdose_deaths_after_release"].sum(),
        "deaths": col["deaths"].sum(),
        "prison_admissions": col["prison_admissions"].sum(),
        "life_years_lost": col["life_months_lost"].sum() / 12.0,
        "cost_total": col["cost_total"].sum(),
        "cost_total_discounted": (col["cost_total"] * factor).sum(),
    }
    for sector in COST_SECTORS:
        out[f"cost_{sector}_discounted"] = (col[f"cost_{sector}"] * factor).sum()
    return {k: float(v) for k, v in out.items()}


def cohort_rates(results: Sequence[RunResult]) -> dict[str, dict[str, float]]:
    """Rearrest within 1, 2 and 3 years by pathway, pooled over replications."""
    pathways = results[0].pathways if results and results[0].pathways else PATHWAYS
    return cohort_rates_of(sum(r.cohort for r in results), pathways)


def cohort_rates_of(table: Any, pathways: Sequence[str] = PATHWAYS) -> dict[str, dict[str, float]]:
    """Rearrest rates from a pooled cohort table (pathways x (people, rearrested in 1, 2, 3 y))."""
    out: dict[str, dict[str, float]] = {}
    for i, path in enumerate(pathways):
        n = float(table[i, 0])
        if n == 0:
            continue
        row = {"people": n}
        for j, years in enumerate(COHORT_YEARS):
            row[f"rearrest_{years}y"] = float(table[i, 1 + j]) / n
        out[path] = row
    return out


def mean_of(dicts: Sequence[dict[str, float]]) -> dict[str, float]:
    keys = dicts[0].keys()
    return {k: float(np.mean([d[k] for d in dicts])) for k in keys}


MIN_DRAWS = 40
"""Fewest values whose 2.5th and 97.5th percentiles are given as an interval; below it the
interval is the Monte Carlo confidence interval of the mean (mean +- t * MCSE)."""


def t_975(n: int) -> float:
    """The 97.5% quantile of Student's t with n - 1 degrees of freedom (1.96 for large n)."""
    from scipy.stats import t

    return float(t.ppf(0.975, n - 1)) if n > 1 else math.inf


def mcse(values: np.ndarray | Sequence[float]) -> float | None:
    """Monte Carlo standard error of the mean of independent replications: sd / sqrt(n)."""
    v = np.asarray(values, dtype=np.float64)
    return float(v.std(ddof=1) / math.sqrt(v.shape[0])) if v.shape[0] > 1 else None


def interval(values: np.ndarray | Sequence[float]) -> dict[str, Any]:
    """Mean, its Monte Carlo standard error and a 95% interval across replications and draws.

    `ci_low`/`ci_high` are the confidence interval of the mean (mean +- t * MCSE). `low`/`high`
    are the 2.5th and 97.5th percentiles where there are at least `MIN_DRAWS` values (the spread
    of the outcome over draws, `method: percentile`), else the confidence interval of the mean
    (`method: mean_ci`): four replications' minimum and maximum are no interval.
    """
    v = np.asarray(values, dtype=np.float64)
    n = int(v.shape[0])
    mean = float(v.mean())
    se = mcse(v)
    half = t_975(n) * se if se is not None else math.inf
    ci = (mean - half, mean + half) if se is not None else (mean, mean)
    if n >= MIN_DRAWS:
        low, high, method = (float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5)),
                             "percentile")
    else:
        low, high, method = ci[0], ci[1], "mean_ci"
    return {"mean": mean, "low": low, "high": high, "mcse": se, "ci_low": ci[0],
            "ci_high": ci[1], "n": n, "method": method}


def resolved(d: Mapping[str, Any], precision: float | None = None) -> bool:
    """Whether a difference's sign is resolved: its confidence interval excludes zero and, with
    `precision`, its MCSE is at most that share of its absolute mean."""
    se = d.get("mcse")
    if se is None:
        return False
    if precision is not None and abs(d["mean"]) * precision < se:
        return False
    return bool(d["ci_low"] > 0 or d["ci_high"] < 0)


def ratio_of_means(num: np.ndarray, den: np.ndarray) -> dict[str, Any] | None:
    """mean(num) / mean(den) with its MCSE (delta method) and 95% interval; None where the mean
    denominator is not positive (a ratio to no spending means nothing)."""
    n = int(num.shape[0])
    b, c = float(num.mean()), float(den.mean())
    if c <= 0:
        return None
    r = b / c
    se = None
    if n > 1:
        cov = np.cov(num, den, ddof=1)
        var = (cov[0, 0] - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / (c * c * n)
        se = float(math.sqrt(max(var, 0.0)))
    half = t_975(n) * se if se is not None else math.inf
    ci = (r - half, r + half) if se is not None else (r, r)
    if n >= MIN_DRAWS and (den > 0).all():
        per = num / den
        low, high, method = (float(np.percentile(per, 2.5)), float(np.percentile(per, 97.5)),
                             "percentile")
    else:
        low, high, method = ci[0], ci[1], "mean_ci"
    return {"mean": r, "low": low, "high": high, "mcse": se, "ci_low": ci[0], "ci_high": ci[1],
            "n": n, "method": method}


def _pairs(base: Sequence[RunResult],
           other: Sequence[RunResult]) -> list[tuple[RunResult, RunResult]]:
    return list(zip(sorted(base, key=lambda r: r.replication),
                    sorted(other, key=lambda r: r.replication), strict=True))


def difference(base: Sequence[RunResult], other: Sequence[RunResult],
               scaled: bool = False) -> dict[str, dict[str, float]]:
    """Scenario minus baseline per total, paired by replication (common random numbers); with
    `scaled`, each replication's totals are first scaled to the population by its own factor."""
    def scaled_totals(r: RunResult) -> dict[str, float]:
        factor = r.scale if scaled else 1.0
        return {k: v * factor for k, v in totals(r).items()}

    return difference_of([(scaled_totals(b), scaled_totals(o)) for b, o in _pairs(base, other)])


def difference_of(pairs: Sequence[tuple[dict[str, float], dict[str, float]]]
                  ) -> dict[str, dict[str, float]]:
    """Scenario minus baseline per total from paired (baseline, scenario) totals."""
    return {name: interval(np.array([o[name] - b[name] for b, o in pairs])) for name in TOTALS}


PUBLIC = ("police", "courts", "prison", "probation", "treatment", "health")
PROGRAMME = ("probation", "treatment")


def costs(result: RunResult) -> dict[str, float]:
    """Discounted costs of a run by component (sample units): the public budget's sectors, and
    for society also victims' costs of crime and lost productivity."""
    v = result.values
    col = {name: result.series[:, i] for i, name in enumerate(SERIES)}
    rate = float(v.get("discount_rate_per_year", 0.0))
    factor = (1.0 + rate) ** (-np.arange(result.months) / 12.0)
    out = {s: float((col[f"cost_{s}"] * factor).sum()) for s in PUBLIC}
    out["victims"] = float((col["cost_victims"] * factor).sum())
    productivity = float(v["productivity_per_month"])
    out["productivity"] = float(((col["in_prison"] + col["life_months_lost"]) * factor).sum()
                                * productivity)
    return out


def economics(base: Sequence[RunResult], other: Sequence[RunResult],
              scaled: bool = False) -> dict[str, Any]:
    """Benefits and costs of a reform against the baseline, from two perspectives (sample units).

    The reform's costs are its extra spending on supervision and treatment; its benefits are the
    savings elsewhere (police, courts, prison, health care; for society also victims' costs and
    lost productivity). Net benefit = benefits - costs; the probability that benefits exceed
    costs is the share of paired replications (and parameter draws) where they do.
    """
    def cost(r: RunResult) -> dict[str, float]:
        return {k: v * (r.scale if scaled else 1.0) for k, v in costs(r).items()}

    return economics_of([(cost(b), cost(o)) for b, o in _pairs(base, other)])


def economics_of(pairs: Sequence[tuple[dict[str, float], dict[str, float]]]) -> dict[str, Any]:
    """`economics` from paired (baseline, scenario) costs by component, one pair per draw.

    Per draw: benefits (savings), costs (extra programme spending) and the incremental net
    benefit; the benefit-cost ratio is mean benefits / mean costs over every draw (never an
    average of per-draw ratios, never over a subset), None where mean costs are not positive.
    """
    deltas = [{k: after[k] - before[k] for k in before} for before, after in pairs]
    out: dict[str, Any] = {}
    for perspective, extra in (("public", ()), ("society", ("victims", "productivity"))):
        saved = [s for s in PUBLIC if s not in PROGRAMME] + list(extra)
        benefits = np.array([-sum(d[k] for k in saved) for d in deltas])
        spent = np.array([sum(d[k] for k in PROGRAMME) for d in deltas])
        net = benefits - spent
        p = float((net > 0).mean())
        out[perspective] = {
            "benefits": interval(benefits), "costs": interval(spent), "net_benefit": interval(net),
            "benefit_cost_ratio": ratio_of_means(benefits, spent),
            "probability_benefits_exceed_costs": p,
            "probability_mcse": math.sqrt(p * (1 - p) / len(net)) if len(net) > 1 else None,
            "draws": len(net),
        }
    return out


def series_rows(result: RunResult) -> dict[str, list[Any]]:
    """Long-format columns (scenario, replication, month, metric, value) scaled to the population."""
    months = [add_months(result.start, t).strftime("%Y-%m") for t in range(result.months)]
    n_metrics = len(SERIES)
    return {
        "scenario": [result.scenario] * (result.months * n_metrics),
        "replication": [result.replication] * (result.months * n_metrics),
        "month": [m for m in months for _ in range(n_metrics)],
        "metric": list(SERIES) * result.months,
        "value": (result.series * result.scale).ravel().tolist(),
    }
