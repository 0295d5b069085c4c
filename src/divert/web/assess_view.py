"""The advice as people read it and act on it: labels instead of internal codes, reasons in plain
words, and the decisions the law allows (read from the advice itself, so a saved advice offers
exactly what its pack's law provided on its date).

Everything here works on the advice's JSON (`Advice.to_json()`, the snapshot the registry keeps),
so the advice shown after *Advise* and a saved advice reopened later are the same page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from divert.errors import InputError
from divert.i18n import current_locale, translator
from divert.law.catalogue import CATALOGUE
from divert.law.vocabulary import FIELDS
from divert.web.lang import N_, _

#: the stages and the quadrants in English, marked for the web catalogue (`stage_label` and
#: `quadrant_label` give them in the page's language; the stored reasons keep the English)
STAGE_LABELS = {"police": N_("Police"), "prosecution": N_("Prosecution"), "court": N_("Court"),
                "post_sentence": N_("After sentence")}
QUADRANT_LABELS = {"HR/HN": N_("high risk, high need"), "LR/HN": N_("low risk, high need"),
                   "HR/LN": N_("high risk, low need"), "LR/LN": N_("low risk, low need")}
STATUS_LABELS = {"eligible": "eligible", "not_eligible": "not eligible",
                 "undetermined": "undetermined"}
INSTRUMENT_TITLES = {"assist": "WHO ASSIST", "dast10": "DAST-10", "audit": "AUDIT",
                     "crafft": "CRAFFT", "cage_aid": "CAGE-AID", "uncope": "UNCOPE",
                     "dsm5": "DSM-5 criteria", "psa": "Public Safety Assessment"}
NONE = "none"  # the decision "no measure"
#: the fields of the forms besides the case's own, in words, and where each is on the page
FORM_LABELS = {"jurisdiction": "Jurisdiction", "date": "Decision date", "decision": "Decision taken",
               "measure": "Enrol in", "on": "Date", "planned_end": "Planned end",
               "quadrant": "Risk/need quadrant", "given": "Informed consent", "note": "Note",
               "submission": "The advised answers", "name": "Name", "birth_date": "Birth date",
               "contact": "Contact", "sex": "Sex", "programme": "Programme",
               "referred_on": "Referred on"}
FORM_ANCHORS = {"submission": "case-form", "name": "new-name", "birth_date": "new-birth",
                "contact": "new-contact", "sex": "new-sex", "programme": "new-programme",
                "referred_on": "new-referred"}


def field_label(name: str, translated: bool = True) -> str:
    """A case field in words (its vocabulary description), e.g. `sentence.months` ->
    `custodial sentence imposed, months`, in the page's language (the law catalogue's) unless
    `translated` is False (inside a stored English reason)."""
    f = FIELDS.get(name)
    if f is None:
        return name.replace("_", " ").replace(".", ": ")
    return translator(current_locale(), "law").gettext(f.description) if translated else f.description


def quadrant_label(quadrant: str | None) -> str:
    """A triage quadrant in words in the page's language ("unknown" when there is none)."""
    return _(QUADRANT_LABELS.get(quadrant or "", N_("unknown")))


def stage_label(stage: str) -> str:
    """A stage's name in the page's language."""
    return _(STAGE_LABELS[stage]) if stage in STAGE_LABELS else stage


_VALUE = re.compile(r"([a-z_]+\.[a-z_0-9]+) = ")
_NAME = re.compile(r"\b[a-z_]+\.[a-z_0-9]+\b")
_MEASURE = re.compile(r"\b(" + "|".join(sorted((re.escape(k) for k in CATALOGUE if "_" in k),
                                                   key=len, reverse=True))
                      + r")\b")
_QUADRANT = re.compile("|".join(re.escape(q) for q in QUADRANT_LABELS))


def _skip_bracket(text: str, start: int) -> int:
    """The index after the bracket group opening at `start` (nested brackets, quoted strings)."""
    depth, quote = 0, ""
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return i + 1
    return len(text)


def plain_reason(reason: str) -> str:
    """A reason without the rule's encoded expression (` [offence.type in [...]]`, ` [bar x]`)
    and with case fields named in words; the encoded form stays in the trace."""
    out, i = [], 0
    while i < len(reason):
        if reason.startswith(" [", i):
            i = _skip_bracket(reason, i + 1)
            continue
        out.append(reason[i])
        i += 1
    text = _MEASURE.sub(lambda m: CATALOGUE[m.group(1)].label.lower(), "".join(out))
    text = _QUADRANT.sub(lambda m: QUADRANT_LABELS[m.group(0)], text)
    text = _VALUE.sub(lambda m: f"{field_label(m.group(1), False)} = " if m.group(1) in FIELDS
                      else m.group(0), text).replace(" = unknown", " not given")
    return _NAME.sub(lambda m: field_label(m.group(0), False) if m.group(0) in FIELDS
                     else m.group(0), text)


@dataclass(frozen=True)
class Option:
    """A measure as a decision: its id, the pack's label, the stages and the advice's verdict."""

    id: str
    label: str
    kind: str
    stages: tuple[str, ...]
    status: str  # eligible | not_eligible | undetermined
    reasons: tuple[str, ...]

    @property
    def stage_words(self) -> str:
        return ", ".join(stage_label(s) for s in self.stages)


def measures_of(advice: Mapping[str, Any]) -> dict[str, Option]:
    """Each measure the advice lists, once: eligible if open at some stage, not eligible if closed
    at every stage it appears in, else undetermined."""
    seen: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for stage in advice.get("stages", []):
        for m in stage.get("measures", []):
            seen.setdefault(m["id"], []).append((stage["stage"], m))
    out: dict[str, Option] = {}
    for mid, found in seen.items():
        statuses = {m["status"] for _, m in found}
        status = ("eligible" if "eligible" in statuses else
                  "not_eligible" if statuses == {"not_eligible"} else "undetermined")
        first = found[0][1]
        reasons = tuple(plain_reason(r) for _, m in found if m["status"] == status
                        for r in m.get("reasons", []))
        out[mid] = Option(mid, first["label"], first["kind"], tuple(s for s, _ in found), status,
                          reasons)
    return out


def lawful_decisions(advice: Mapping[str, Any]) -> list[Option]:
    """The decisions the advice's law allows: its measures that are not coercive (coercive
    measures are facts divert reports, never options), in stage order."""
    return [o for o in measures_of(advice).values() if o.kind != "coercive"]


def coercive_facts(advice: Mapping[str, Any]) -> list[Option]:
    """The coercive measures the law provides, reported as facts."""
    return [o for o in measures_of(advice).values() if o.kind == "coercive"]


class NeedsConfirmation(Exception):
    """A decision or enrolment the advice found not eligible: people may take it, but only after
    a warning they confirm."""

    def __init__(self, option: Option, advice_id: int | None = None) -> None:
        self.option = option
        self.advice_id = advice_id
        super().__init__(f"{option.id} was found not eligible")


def check_decision(advice: Mapping[str, Any], decision: str, confirmed: bool,
                   advice_id: int | None = None) -> Option | None:
    """The chosen decision's option (None for `none`). Refuses what the law does not provide and
    coercive measures; raises NeedsConfirmation for a measure found not eligible unless
    `confirmed`."""
    if decision == NONE:
        return None
    found = measures_of(advice).get(decision)
    where = f"the law of {advice.get('jurisdiction')} in force on {advice.get('date')}"
    if found is None:
        allowed = ", ".join([o.id for o in lawful_decisions(advice)] + [NONE])
        raise InputError(f"{decision} is not a measure {where} provides; allowed: {allowed}",
                         where="decision")
    if found.kind == "coercive":
        raise InputError(f"{found.label} is a coercive measure: divert reports it as a fact of "
                         f"{where}, never as a decision to choose", where="decision")
    if found.status == "not_eligible" and not confirmed:
        raise NeedsConfirmation(found, advice_id)
    return found


def enrolment_check(advice: Mapping[str, Any] | None, measure: str, confirmed: bool,
                    advice_id: int | None = None) -> None:
    """Raise NeedsConfirmation when the latest advice found `measure` not eligible."""
    if advice is None or confirmed:
        return
    found = measures_of(advice).get(measure)
    if found is not None and found.status == "not_eligible":
        raise NeedsConfirmation(found, advice_id)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def case_values(facts: Mapping[str, Any], prefix: str = ""
                ) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Stored case facts as the case form's values (`person.age` -> `"30"`) and its checked
    multiple choices (`offence.aggravators`)."""
    values: dict[str, str] = {}
    sets: dict[str, list[str]] = {}
    for key, value in facts.items():
        name = f"{prefix}{key}"
        if name == "screening":
            continue  # the instruments' own fields
        if isinstance(value, Mapping):
            more, more_sets = case_values(value, name + ".")
            values.update(more)
            sets.update(more_sets)
        elif isinstance(value, list):
            sets[name] = [str(v) for v in value]
        elif value is not None:
            values[name] = _text(value)
    return values, sets


def screening_values(instrument: str, answers: Mapping[str, Any], prefix: str = ""
                     ) -> dict[str, str]:
    """Stored screening responses as the instrument form's fields (`audit.answers.0`)."""
    out: dict[str, str] = {}
    for key, value in answers.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(screening_values(instrument, value, name + "."))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if item is not None:
                    out[f"{instrument}.{name}.{i}"] = _text(item)
        elif value is not None:
            out[f"{instrument}.{name}"] = _text(value)
    return out
