"""Persistent traits: the role in the drug market and the propensity for non-drug offending decide
what a person's offences are."""

from __future__ import annotations

from datetime import date

import numpy as np

from divert.law.policy import load
from divert.law.practice import draw, resolve, shares
from divert.law.vocabulary import OFFENCE_TYPES
from divert.simulation.decisions import Effects, Practice
from divert.simulation.kernel import METRICS, M, step
from divert.simulation.population import NONDRUG, ROLE_OFFENCES, ROLES, offence_profiles, synthesise
from divert.simulation.run import kernel_inputs


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
    k = kernel_inputs(values)
    ef = Effects.of(policy)
    pr = Practice(values, 1.0, ef.ids)
    seen: dict[int, set[int]] = {}
    counters = np.zeros(len(METRICS) + 20)
    for month in range(1, 37):
        occ = np.zeros(len(ef.ids))
        step(pop, month, 99, k["fp"], k["p_od"], k["p_remit"], k["off_sev"], k["type_cum"],
             k["profile_rate"], k["type_counter"], pr.reoffence_rr, pr.completion, k["opioid"],
             pr.duration, ef.oat_overdose_rr, ef.oat_overdose_months, counters, occ,
             engine="numpy")
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
