"""Persistent traits: the role in the drug market and the propensity for non-drug offending decide
what a person's offences are."""

from __future__ import annotations

from datetime import date

import numpy as np

from divert.law.policy import load
from divert.law.practice import draw, resolve, shares
from divert.law.vocabulary import OFFENCE_TYPES, SUBSTANCES
from divert.simulation.decisions import Effects, Practice
from divert.simulation.kernel import METRICS, M, step
from divert.simulation.population import (
    NONDRUG,
    ROLE_OFFENCES,
    ROLES,
    conditional_shares,
    offence_profiles,
    synthesise,
)
from divert.simulation.run import kernel_inputs, kernel_params


def test_roles_keep_the_packs_drug_offence_mix() -> None:
    """Role shares are those of their offence types in offence_type_share, so everyone offending
    at the same rate reproduces the pack's (sourced) mix of drug offences."""
    for code in ("usa", "malaysia", "iran", "kenya"):
        values = draw(resolve(load(code), date(2026, 1, 1)), None)
        prof = offence_profiles(values)
        mix = shares(values, "offence_type_share")
        none = NONDRUG.index("none")
        implied = sum(prof.role_share[r] * np.diff(prof.type_cum[r * len(NONDRUG) + none],
                                                   prepend=0.0) for r in range(len(ROLES)))
        assert np.allclose(implied, mix, atol=1e-9), code


def test_an_offence_follows_from_the_persons_traits() -> None:
    """Over three years, a user's police contacts are for use or possession only, a dealer's never
    are; non-drug offences come only from people with that propensity, of that type."""
    policy = load("usa")
    values = draw(resolve(policy, date(2026, 1, 1)), None)
    values["offence_type_share"] = {"use": 0.2, "possession": 0.5, "supply": 0.2,
                                    "trafficking": 0.1}
    values["detection_prob"] = 1.0
    pop = synthesise(20000, 0, values, np.random.default_rng(4))
    ef = Effects.of(policy)
    pr = Practice(values, 1.0, ef.ids)
    kp = kernel_params(kernel_inputs(values), pr, ef)
    seen: dict[int, set[int]] = {}
    counters = np.zeros(len(METRICS) + 20)
    for month in range(1, 37):
        occ = np.zeros(len(ef.ids))
        step(pop, month, 99, kp, counters, occ, engine="numpy")
        hit = np.flatnonzero(pop.flag == 1)
        for prof in np.unique(pop.profile[hit]):
            seen.setdefault(int(prof), set()).update(pop.off_type[hit[pop.profile[hit] == prof]]
                                                      .tolist())
        pop.off_type[:] = -1
    assert counters[M["offences_property"]] > 0
    for prof, types in seen.items():
        role, nondrug = ROLES[prof // len(NONDRUG)], NONDRUG[prof % len(NONDRUG)]
        allowed = {OFFENCE_TYPES.index(t) for t in ROLE_OFFENCES[role]}
        if nondrug != "none":
            allowed.add(OFFENCE_TYPES.index(nondrug))
        assert types <= allowed, (role, nondrug, types)
    users = [types for prof, types in seen.items() if prof // len(NONDRUG) == 0]
    assert any(OFFENCE_TYPES.index("use") in t for t in users)


def _usa_values() -> dict:
    return draw(resolve(load("usa"), date(2022, 1, 1)), None)


def test_joint_draws_reproduce_the_sourced_conditional_shares() -> None:
    """The USA pack draws injecting and disorder by primary substance (practice.yaml: heroin 0.53
    inject, after Han et al. 2020; heroin 0.65 and methamphetamine 0.58 with a disorder, NSDUH
    2018): each listed share within 4 binomial standard errors, and the population's shares who
    inject (5%) and have a disorder (38.7%) kept."""
    v = _usa_values()
    n = 400_000
    pop = synthesise(n, 0, v, np.random.default_rng(5))
    sub = pop.substance[:n]
    disorder = pop.severity[:n] >= 1

    def near(observed: np.ndarray, p: float) -> None:
        assert abs(observed.mean() - p) <= 4 * np.sqrt(p * (1 - p) / observed.shape[0]), (
            observed.mean(), p)

    heroin = sub == SUBSTANCES.index("heroin")
    meth = sub == SUBSTANCES.index("methamphetamine")
    near(pop.injecting[:n][heroin], 0.53)
    near(disorder[heroin], 0.65)
    near(disorder[meth], 0.58)
    near(pop.injecting[:n], 0.05)
    near(disorder, 1 - v["disorder_share"]["none"] / sum(v["disorder_share"].values()))
    # people who use cannabis inject and have a disorder less often than people who use heroin
    cannabis = sub == SUBSTANCES.index("cannabis_herb")
    assert pop.injecting[:n][cannabis].mean() < 0.06 < 0.5 < pop.injecting[:n][heroin].mean()
    # the severity split among people with a disorder is the pack's, whatever the substance
    split = np.bincount(pop.severity[:n][heroin & disorder], minlength=4)[1:]
    want = np.array([v["disorder_share"][k] for k in ("mild", "moderate", "severe")])
    assert np.allclose(split / split.sum(), want / want.sum(), atol=0.04)


def test_conditional_shares_keep_the_marginal_and_are_absent_by_default() -> None:
    """Unlisted substances share the rest of the marginal; a pack without the tables draws
    injecting and disorder independently of the substance (None: the original draws)."""
    v = _usa_values()
    substance = shares(v, "substance_share")
    by = conditional_shares(v, "injecting_share_by_substance", 0.05, substance)
    assert by is not None and by[SUBSTANCES.index("heroin")] == 0.53
    assert abs(float(substance @ by) - 0.05) < 1e-9
    assert conditional_shares(_model_values(), "injecting_share_by_substance", 0.08,
                              substance) is None
    # capped where the listed substances alone exceed the marginal
    capped = conditional_shares({**v, "injecting_share_by_substance": {"cannabis_herb": 0.5}},
                                "injecting_share_by_substance", 0.05, substance)
    assert capped is not None and capped.min() == 0.0


def test_packs_without_conditional_shares_draw_as_before() -> None:
    """The conditional draws use the same uniforms: a table that gives every substance the
    population's share reproduces the independent draws person for person."""
    v = _model_values()
    plain = synthesise(20_000, 0, v, np.random.default_rng(3))
    flat = {s: float(v["injecting_share"]) for s in SUBSTANCES}
    same = synthesise(20_000, 0, {**v, "injecting_share_by_substance": flat},
                      np.random.default_rng(3))
    assert np.array_equal(plain.injecting, same.injecting)
    assert np.array_equal(plain.severity, same.severity)


def _model_values() -> dict:
    return draw(resolve(load("model"), date(2022, 1, 1)), None)


def test_offending_by_substance_keeps_the_population_level() -> None:
    """The USA's offending by primary drug (Bennett et al. 2008: crack about 4 and heroin about 2
    times recreational use): the kernel's multipliers keep those ratios, average 1 over the
    pack's substance shares (so the fitted arrests keep their level), and leave packs without
    the table as they were."""
    from divert.simulation.run import offending_multipliers

    v = _usa_values()
    off = offending_multipliers(v)
    col = {s: off[:, SUBSTANCES.index(s)] for s in ("crack", "heroin", "cannabis_herb")}
    assert np.allclose(col["crack"] / col["cannabis_herb"], 4.0)
    assert np.allclose(col["heroin"] / col["cannabis_herb"], 2.0)
    by_disorder = np.array([v["offence_rr_by_disorder"][k]
                            for k in ("none", "mild", "moderate", "severe")])
    assert np.allclose(off @ shares(v, "substance_share"), by_disorder)
    model = _model_values()
    flat = offending_multipliers(model)
    assert np.array_equal(flat, np.repeat(flat[:, :1], len(SUBSTANCES), axis=1))
    assert np.array_equal(kernel_inputs(model)["off_sev"][:, 0],
                          np.array([model["offence_rr_by_disorder"][k]
                                    for k in ("none", "mild", "moderate", "severe")]))


def test_compiled_kernel_equals_numpy_reference_with_offending_by_substance() -> None:
    """The USA pack (offending by substance, joint draws): both engines give the same series."""
    from divert.simulation.run import run

    usa = load("usa")
    fast = run(usa, 3000, 24, date(2022, 1, 1), seed=2, replication=0, warm_up=0,
               engine="numba")
    slow = run(usa, 3000, 24, date(2022, 1, 1), seed=2, replication=0, warm_up=0,
               engine="numpy")
    assert np.array_equal(fast.series, slow.series)
    assert fast.metric("arrests").sum() > 0
