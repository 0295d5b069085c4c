"""Interface text the page walk (test_every_page_language.py) cannot reach in each language: a
flash message after a POST, the screening questions and skip rules, the case form's labels, the
practice defaults' descriptions, the registry's warning on a jail sanction, a decided advice's
measure (issue 19).
Each fails if its translation is taken out of the catalogue."""

from __future__ import annotations

import html
import re
from typing import Any

from divert.i18n import translator
from divert.law.catalogue import CATALOGUE
from divert.law.practice_schema import DEFAULTS
from divert.web.court_pages import RESPONSE_WARNINGS, response_warning
from divert.web.lang import COOKIE

from .test_assess_flow import PRIOR, seed_usa
from .test_court import API, seeded  # noqa: F401  (fixture)


def test_a_flash_message_after_a_post_is_in_portuguese(seeded: dict[str, Any],  # noqa: F811
                                                       client_for: Any) -> None:
    code = seeded["codes"][0]
    c = client_for("case_manager")
    c.cookies.set(COOKIE, "pt")
    r = c.form(f"/registry/participants/{code}/notes", {"text": "Housing found"})
    assert r.status_code == 303
    page = c.get(r.headers["location"]).text
    assert "Nota clínica guardada." in page and "Clinical note saved." not in page


def test_the_screening_questions_and_case_labels_are_in_persian(client_for: Any) -> None:
    c = client_for("judge")
    c.cookies.set(COOKIE, "fa")
    page = c.get("/assess").text
    assert "آیا عدم حضوری مربوط به بیش از ۲ سال پیش دارد؟" in page  # PSA: an older failure to appear
    assert "Any failure to appear older than 2 years?" not in page
    assert "Q4. در ۳ ماه گذشته هر چند وقت یک بار مصرف فرآورده‌های دخانی" in page  # the substance inside
    assert "پاسخ پرسش ۱ برای فرآورده‌های دخانی «بله» است" in page  # a skip rule in plain words
    assert "Q1 for tobacco products is 'yes'" not in page
    assert "شخص به جرم اقرار می‌کند" in page  # the case field offence.admitted, from the law catalogue
    assert "The person admits the offence" not in page


def test_a_fresh_advice_gives_its_triage_and_legal_reasons_in_portuguese(client_for: Any) -> None:
    """The advice after Advise is written in the page's language: the triage's reasons and each
    measure's reasons come from the law catalogue (a saved advice keeps its English snapshot)."""
    from divert.advice.case import parse_case
    from divert.advice.pathways import advise, localized
    from divert.law import policy

    form = {"jurisdiction": "portugal", "date": "", "offence.type": "possession",
            "offence.substance": "cannabis_resin", "offence.quantity_g": "3",
            "offence.date": "2006-03-01", "person.age": "19", "need": "low", "risk": "low"}
    c = client_for("clinician")
    c.cookies.set(COOKIE, "pt")
    page = c.form("/assess", form).text
    case = parse_case({"offence": {"type": "possession", "substance": "cannabis_resin",
                                   "quantity_g": 3, "date": "2006-03-01"}, "person": {"age": 19},
                       "need": "low", "risk": "low"})
    english = advise(case, policy.load("portugal"))
    portuguese = localized(english, "pt")
    said, first = english.triage.reasons[0], portuguese.triage.reasons[0]
    assert first != said and first.split(":")[0] in page and said not in page
    reason = english.stage("police").measures[0].reasons[0]
    translated = portuguese.stage("police").measures[0].reasons[0]
    assert translated != reason and reason.split(" [")[0] not in page


def test_the_practice_defaults_are_described_in_french(client_for: Any) -> None:
    """The policy book's practice table: every divert default's description in French (the law
    catalogue), none left in English or marked as English."""
    c = client_for("analyst")
    c.cookies.set(COOKIE, "fr")
    page = html.unescape(c.get("/book/usa").text)
    practice = page[page.index('id="practice"'):page.index('id="sources"')]
    assert "part des femmes" in practice and "coût d'une place en prison" in practice
    assert "monnaie (USD de 2008)" in practice  # the unit of victim_cost_per_offence
    left = [d.name for d in DEFAULTS.values() if d.description in practice]
    assert left == [], left
    assert 'lang="en">part des femmes' not in practice and 'class="muted" lang="en"' not in practice


def test_a_changed_practice_value_is_described_in_dutch(client_for: Any) -> None:
    """The changes between two dates: a practice row's description in Dutch; a law parameter's
    description (the pack's own English) stays marked as English."""
    c = client_for("analyst")
    c.cookies.set(COOKIE, "nl")
    page = html.unescape(c.get("/book/portugal/changes?from=2000-01-01&to=2024-01-01").text)
    practice = page[page.index('id="practice"'):]
    described = re.findall(r'<span class="muted"( lang="en")?>([^<]+)</span>', practice)
    assert described and all(not marked for marked, _ in described), described
    english = {d.description for d in DEFAULTS.values()}
    assert not [text for _, text in described if text in english]


def _sanction(c: Any, code: str, **headers: str) -> Any:
    return c.form(f"/registry/participants/{code}/responses",
                  {"kind": "sanction", "type": "jail", "jail_days": "7", "box": "respond-box-p"},
                  headers=headers)


def test_the_jail_cap_warning_is_in_portuguese_and_persian(seeded: dict[str, Any],  # noqa: F811
                                                           client_for: Any) -> None:
    """The registry's warning on a jail sanction beyond the cap, after the POST (a flash message)
    and in the htmx answer, in the page's language with its figures."""
    code = seeded["codes"][0]
    judge = client_for("judge")
    judge.cookies.set(COOKIE, "pt")
    r = _sanction(judge, code)
    assert r.status_code == 303
    page = judge.get(r.headers["location"]).text
    assert "a sanção de prisão de 7 dias excede o limite de 5 dias" in page
    assert "exceeds the cap" not in page
    judge.cookies.set(COOKIE, "fa")
    r = _sanction(judge, code, **{"HX-Request": "true"})
    assert r.status_code == 200
    assert "تنبیه حبس ۷ روزه از سقف ۵ روز فراتر می‌رود" in r.text and "exceeds the cap" not in r.text


def test_the_registry_warning_table_matches_the_registry_text() -> None:
    """Each pattern matches the registry's own English (a reworded registry warning would
    otherwise be shown in English)."""
    from divert.registry.court import ProgrammeRules, jail_warning

    said = jail_warning(ProgrammeRules(), 9)
    assert said is not None and response_warning(said) == said  # English: as the registry says
    assert any(pattern.fullmatch(said) for pattern, _ in RESPONSE_WARNINGS)


def test_the_advice_decision_names_the_measure_and_the_account_in_french(
        registry_url: str, client_for: Any) -> None:
    """A participant's decided advice in French: the measure by its label in the law catalogue,
    the account that confirmed it as stored (a username, not the role's English name)."""
    code = seed_usa(registry_url, PRIOR)
    c = client_for("case_manager")
    advice = c.api("POST", f"{API}/participants/{code}/advice",
                   json={"jurisdiction": "usa", "case": PRIOR, "date": "2024-01-02"}).json()["id"]
    r = c.api("POST", f"/api/v1/registry/advice/{advice}/confirm",
              json={"decision": "probation_with_treatment", "confirm_not_eligible": True})
    assert r.status_code == 200, r.text
    c.cookies.set(COOKIE, "fr")
    page = html.unescape(c.get(f"/registry/participants/{code}").text)
    label = translator("fr", "law").gettext(CATALOGUE["probation_with_treatment"].label)
    assert label != CATALOGUE["probation_with_treatment"].label
    assert f"Décision : <strong>{label}</strong>" in page
    assert f"confirmé par case_manager, décision finale {label}" in page
    assert "case manager" not in page.replace("Test case manager", "")
    assert "probation with treatment" not in page
