"""Text the web builds in Python or takes from data, in the page's language (issue 19): the
screening forms' options, groups and purposes, the countries page's cells and captions, a
timeline event's details and a parameter's unit. Each would read English without its entry in
the web catalogue."""

from __future__ import annotations

from typing import Any

from divert.i18n import using
from divert.web import compare_countries as cc
from divert.web.court_pages import _detail
from divert.web.lang import COOKIE
from divert.web.terms import unit

from .conftest import sign_in


def _assess(app: Any, locale: str) -> str:
    client = sign_in(app, "clinician")
    client.cookies.set(COOKIE, locale)
    try:
        r = client.get("/assess")
    finally:
        client.close()
    assert r.status_code == 200
    return r.text


def test_the_screening_forms_options_groups_and_purposes_in_portuguese_and_persian(app: Any) -> None:
    pt = _assess(app, "pt")
    assert '<option value="yes">Sim</option><option value="no">Não</option>' in pt
    assert "<legend>Produtos de tabaco</legend>" in pt and "Tobacco products" not in pt
    assert "Falta de comparência antes do julgamento (FTA)" in pt
    assert ">Diariamente ou quase diariamente</option>" in pt  # AUDIT's frequency
    fa = _assess(app, "fa")
    assert '<option value="yes">بله</option><option value="no">خیر</option>' in fa
    assert "<legend>مواد افیونی</legend>" in fa and ">Yes</option>" not in fa
    assert "PSA برای بزرگسالان است: ۱۸ تا ۱۲۰." in fa  # a hint, Persian digits in the text


def _country() -> dict[str, Any]:
    series = {"mean": [1.0, 2.0], "low": [0.5, 1.5], "high": [1.5, 2.5]}
    metrics = {m: {"baseline": series, "reform": series, "difference": series}
               for m, *_ in cc.CHART_METRICS}
    return {"code": "bel", "reform_label": "Traiter au lieu de condamner",
            "trajectories": {"months": ["2025-01", "2025-02"], "before_months": 0,
                             "metrics": metrics}}


def test_the_countries_pages_cells_and_chart_captions_in_french() -> None:
    none = {"mean": 0.0, "mcse": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    unresolved = {"difference": {"mean": -12.0, "mcse": 8.0, "ci_low": -30.0, "ci_high": 4.0},
                  "resolved": False}
    with using("fr"):
        assert cc.money_cell(none, True, "EUR", None)["local"] == "aucune différence"
        assert cc._difference({"difference": none, "resolved": True}) == \
            "aucune différence dans aucune réplication"
        assert cc._difference(unresolved).startswith("non résolu à cette taille (12")
        charts = cc._charts(_country())
    levels, difference = charts[0], charts[1]
    assert levels["title"] == "Personnes en prison pour une infraction à la législation sur les stupéfiants"
    assert levels["unit"] == "personnes" and levels["series"][0]["label"] == "le droit actuel"
    assert levels["band"] == "du 2,5e au 97,5e centile entre les réplications"
    assert difference["series"][0]["label"] == "Traiter au lieu de condamner moins le droit actuel"
    assert difference["summary"].startswith("En 2025-02 : ") and " à " in difference["summary"]


def test_a_timeline_events_details_and_a_units_name_in_the_pages_language() -> None:
    event = {"date": "2026-01-02", "event": "sanction", "type": "community_service",
             "behaviour": "positive_test", "status": "imposed"}
    with using("pt"):
        detail = _detail(event)
        months = unit("months")
    assert detail.startswith("tipo trabalho a favor da comunidade, comportamento ")
    assert detail.endswith("estado aplicada") and months == "meses"
    with using("fr"):
        assert unit("EUR per month") == "EUR par mois" and unit("g") == "g"
    assert _detail(event) == ("type community service, behaviour positive test, status imposed")
