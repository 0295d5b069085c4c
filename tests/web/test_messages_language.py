"""Interface text the page walk (test_every_page_language.py) cannot reach in each language: a
flash message after a POST, the screening questions and skip rules, the case form's labels (issue 19).
Each fails if its translation is taken out of the catalogue."""

from __future__ import annotations

from typing import Any

from divert.web.lang import COOKIE

from .test_court import seeded  # noqa: F401  (fixture)


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
