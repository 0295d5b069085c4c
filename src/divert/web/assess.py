"""Assessment: guided screening forms with their skip logic, a case form from the case vocabulary,
and the advice stage by stage (pages), with the same JSON as `divert assess --json` (API, tag
"assessment").

Scoring, triage and advice are `divert.advice.screening`, `divert.advice.triage` and
`divert.advice.pathways`; this module reads forms into the case and responses those modules
take, and renders their results.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.datastructures import FormData

from divert.advice.case import Case, parse_case
from divert.advice.pathways import Advice, advise, localized
from divert.advice.screening import INSTRUMENTS, ScreeningCutoffs, ScreeningResult, score
from divert.errors import InputError
from divert.i18n import DEFAULT, current_locale, translator
from divert.law.catalogue import CATALOGUE
from divert.law.policy import Policy, load
from divert.law.vocabulary import DISORDER_LEVELS, FIELDS, LEVELS, STAGES
from divert.simulation.projection import (
    LABELS,
    OUTCOMES,
    Settings,
    project_advice,
    show,
    show_difference,
    show_error,
)
from divert.web import assess_prefill, assess_view
from divert.web.accounts import User
from divert.web.assess_fields import MAX_NUMBER, check_date, check_fields, choice, words
from divert.web.assess_forms import FORMS, InstrumentForm, answered, responses
from divert.web.book import pack_codes, pack_or_error, parse_day
from divert.web.court_common import CODE
from divert.web.lang import N_
from divert.web.render import render, templates
from divert.web.security import require

router = APIRouter(include_in_schema=False)
api = APIRouter(tags=["assessment"])

Instrument = Literal["assist", "dast10", "audit", "crafft", "cage_aid", "uncope", "dsm5", "psa"]
Stage = Literal["police", "prosecution", "court", "post_sentence"]
assert tuple(Instrument.__args__) == INSTRUMENTS and tuple(Stage.__args__) == STAGES  # type: ignore[attr-defined]

templates.env.globals.update(projection_show=show, projection_difference=show_difference,
                             projection_error=show_error,
                             projection_outcomes=OUTCOMES, projection_labels=LABELS)


# --- the case form --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseField:
    """One field of the case form: its name in the case, type, allowed values and hint."""

    name: str
    type: Literal["number", "bool", "category", "set", "date"]
    description: str
    values: tuple[str, ...] = ()
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    whole: bool = False
    domain: Literal["law", "web"] = "law"  # the catalogue of `description` (the form's own: web)

    @property
    def id(self) -> str:
        return "case-" + self.name.replace(".", "-").replace("_", "-")

    @property
    def label(self) -> str:
        """The description in the page's language, as a label (its first letter upper case)."""
        text = translator(current_locale(), self.domain).gettext(self.description)
        return text[:1].upper() + text[1:]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "description": self.description,
                "values": list(self.values), "unit": self.unit, "minimum": self.minimum,
                "maximum": self.maximum, "whole_number": self.whole}


_TOP = {"consent": "consent", "need": "triage.need", "risk": "triage.risk",
        "disorder": "screening.disorder"}
_STATED = {"need": N_("clinical need, if stated (else triaged from the screening)"),
           "risk": N_("criminogenic risk, if stated (else triaged from the case)"),
           "disorder": N_("drug use disorder severity, if stated (else from the screening)")}


def _case_fields() -> list[CaseField]:
    out: list[CaseField] = []
    for part in ("person", "offence", "history", "sentence"):
        model = Case.model_fields[part].annotation
        assert model is not None
        for key, info in model.model_fields.items():
            name = f"{part}.{key}"
            if name == "offence.date":
                out.append(CaseField(name, "date", N_("date of the offence (the law of this date "
                                                       "applies unless a decision date is given)"),
                                     domain="web"))
                continue
            f = FIELDS[name]
            whole = "int" in str(info.annotation)
            out.append(CaseField(name, f.type, f.description, f.values, f.unit, f.minimum,
                                 f.maximum, whole))
    for key, vocab in _TOP.items():
        f = FIELDS[vocab]
        values = {"need": LEVELS, "risk": LEVELS, "disorder": DISORDER_LEVELS}.get(key, ())
        out.append(CaseField(key, f.type, _STATED.get(key, f.description), values,
                             domain="web" if key in _STATED else "law"))
    return out


CASE_FIELDS: list[CaseField] = _case_fields()
CASE_PARTS = (("person", N_("The person")), ("offence", N_("The offence")), ("history", N_("History")),
              ("sentence", N_("Sentence (for post-sentence measures)")),
              ("", N_("Consent and stated triage")))


def _number(text: str) -> Any:
    try:
        value = float(text)
    except ValueError:
        return text  # the case model refuses it with the field's name
    return int(value) if value.is_integer() and abs(value) < MAX_NUMBER else value


def case_from_form(form: Mapping[str, Any], sets: Mapping[str, list[str]]) -> dict[str, Any]:
    """The case data (as in a case file) from the case form's fields; empty fields are unknown."""
    data: dict[str, Any] = {}
    for f in CASE_FIELDS:
        if f.type == "set":
            chosen = sets.get(f.name) or []
            value: Any = list(chosen) if chosen else None
        else:
            raw = str(form.get(f.name, "")).strip()
            if not raw:
                continue
            value = ({"yes": True, "no": False}.get(raw, raw) if f.type == "bool"
                     else _number(raw) if f.type == "number" else raw)
        if value is None:
            continue
        node = data
        *parents, leaf = f.name.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return data


def check_numbers(case: Case) -> None:
    """Refuse numbers beyond what the rules can hold, naming the field."""
    for name, value in case.facts().items():
        if isinstance(value, int | float) and not isinstance(value, bool) and (
                not math.isfinite(value) or abs(value) > MAX_NUMBER):
            raise InputError(f"case.{name}: {value:.3g} is out of range; allowed: 0 to "
                             f"{MAX_NUMBER:.0e}")


# --- scoring and advice ---------------------------------------------------------------------------


def cutoffs_of(pack: Policy | None) -> ScreeningCutoffs:
    """The pack's screening cut-offs (the manuals' when no pack is chosen)."""
    return ScreeningCutoffs.model_validate((pack.meta.screening if pack else None) or {})


def run_advice(jurisdiction: str, day: dt.date | None, case: Case,
               stages: list[str] | None = None, projection: bool = False) -> Advice:
    """The advice on a case, as `divert assess` gives it (with `projection`, each open
    measure's projected outcomes, as `divert assess` gives them by default)."""
    pack = pack_or_error(jurisdiction)
    check_numbers(case)
    advice = advise(case, pack, stages, day)
    return project_advice(advice, case, pack, Settings()) if projection else advice


def _form_values(form: FormData, name: str) -> dict[str, str]:
    prefix = name + "."
    return {k[len(prefix):]: str(v) for k, v in form.items() if k.startswith(prefix)}


def _live_score(form: InstrumentForm, values: Mapping[str, str],
                cut: ScreeningCutoffs) -> tuple[ScreeningResult | None, str | None]:
    """The instrument's result so far, or why it cannot be scored yet."""
    if not answered(form, values):
        return None, None
    try:
        return score(form.name, responses(form, values), cut), None
    except InputError as exc:
        return None, str(exc)


def _instrument_context(form: InstrumentForm, values: Mapping[str, str], live: bool,
                        cut: ScreeningCutoffs) -> dict[str, Any]:
    result, problem = _live_score(form, values, cut)
    return {"f": form, "values": values, "live": live, "result": result, "problem": problem}


# --- API ------------------------------------------------------------------------------------------


def _bounded(value: Any, depth: int = 0) -> int:
    """The size of a JSON value; refuse deep nesting, long strings and large collections."""
    if depth > 6:
        raise ValueError("nested too deeply (at most 6 levels)")
    if isinstance(value, str):
        if len(value) > 200:
            raise ValueError("a text longer than 200 characters")
        return 1
    if isinstance(value, Mapping):
        return 1 + sum(_bounded(k, depth + 1) + _bounded(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        if len(value) > 100:
            raise ValueError("a list longer than 100 items")
        return 1 + sum(_bounded(v, depth + 1) for v in value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
        raise ValueError(f"a number beyond {MAX_NUMBER:.0e}")
    return 1


class ScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    responses: dict[str, Any] = Field(description="the responses, as `divert score` reads them; "
                                      "see GET /instruments/{name} for the keys")
    jurisdiction: str | None = Field(None, max_length=40,
                                     description="use this pack's cut-offs (default: the manual's)")

    @field_validator("responses")
    @classmethod
    def _small(cls, v: dict[str, Any]) -> dict[str, Any]:
        if _bounded(v) > 2000:
            raise ValueError("too many values (at most 2000)")
        return v


class AssessIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    jurisdiction: str = Field(min_length=1, max_length=40, description="pack code (GET /packs)")
    date: dt.date | None = Field(None, description="decision date; default the case's offence.date")
    stages: list[Stage] | None = Field(None, min_length=1, max_length=4,
                                       description="default: all four, in order")
    case: Case = Field(description="the case, as in a case file: person, offence, history, "
                       "sentence, consent, need, risk, disorder and screening responses")
    projection: bool = Field(True, description="each open measure's simulated outcomes for the "
                             "person (about 2 s), as `divert assess`; false: the advice alone")

    @field_validator("case", mode="before")
    @classmethod
    def _small(cls, v: Any) -> Any:
        if isinstance(v, Mapping) and _bounded(v) > 4000:
            raise ValueError("too many values (at most 4000)")
        return v


class OptionOut(BaseModel):
    value: str
    label: str


class ConditionOut(BaseModel):
    any_of: list[str]
    in_: list[str] | None = Field(None, alias="in", serialization_alias="in")
    above: int | None
    text: str


class QuestionOut(BaseModel):
    key: str = Field(description="the place of the answer in the responses; a number indexes a list")
    label: str
    kind: Literal["choice", "yes_no", "number"]
    options: list[OptionOut]
    minimum: int | None
    maximum: int | None
    group: str | None
    hint: str | None
    asked_when: list[ConditionOut] = Field(description="asked when every condition holds "
                                           "(skip logic); empty: always asked")


class InstrumentSummary(BaseModel):
    name: Instrument
    title: str
    purpose: str
    questions: int


class InstrumentOut(BaseModel):
    name: Instrument
    title: str
    purpose: str
    questions: list[QuestionOut]
    cutoffs: dict[str, Any] = Field(description="the manual's cut-offs (a pack may change them)")


class VocabularyOut(BaseModel):
    fields: list[dict[str, Any]] = Field(description="the fields of a case, with allowed values")
    derived: list[dict[str, Any]] = Field(description="facts divert derives from screening and "
                                          "triage; the rules may read them")
    stages: list[str]
    instruments: list[str]


class TriageOut(BaseModel):
    risk: str | None  # None: unknown (triage never assumes a fact)
    need: str | None
    quadrant: str | None
    disorder: str | None
    injecting: bool | None
    reasons: list[str]


class MeasureOut(BaseModel):
    id: str
    label: str
    kind: Literal["alternative", "conventional", "coercive"]
    eligible: bool
    status: Literal["eligible", "not_eligible", "undetermined"]
    consent_required: bool
    discretionary: bool
    reasons: list[str]
    citations: list[str]
    legal_basis: list[dict[str, Any]]
    trace: list[dict[str, Any]]
    missing: list[str]
    superseded_by: str | None
    projection: dict[str, Any] | None = Field(None, description="an open measure's projected "
                                              "outcomes for the person (divert.simulation.projection)")


class StageOut(BaseModel):
    stage: Stage
    recommended: str | None
    seek_consent_for: str | None
    notes: list[str]
    measures: list[MeasureOut]
    projection_reference: dict[str, Any] | None = Field(None, description="the conventional "
                                                        "path's projected outcomes")


class AdviceOut(BaseModel):
    jurisdiction: str
    date: dt.date
    triage: TriageOut
    screening: dict[str, dict[str, Any]]
    stages: list[StageOut]
    stamp: dict[str, str]


_ERRORS: dict[int | str, dict[str, Any]] = {400: {"description": "bad input: one line naming the "
                                                   "field and what is allowed"}}


@api.get("/instruments", response_model=list[InstrumentSummary])
def instruments_api(user: User = Depends(require("assess"))) -> list[dict[str, Any]]:
    """The screening instruments divert scores."""
    return [{"name": f.name, "title": f.title, "purpose": f.purpose,
             "questions": len(f.questions)} for f in FORMS.values()]


@api.get("/instruments/{name}", response_model=InstrumentOut)
def instrument_api(name: Instrument, user: User = Depends(require("assess"))) -> dict[str, Any]:
    """One instrument: its questions, options and skip rules, and the manual's cut-offs."""
    return {**FORMS[name].to_json(), "cutoffs": getattr(ScreeningCutoffs(), name).model_dump()}


@api.post("/instruments/{name}/score", responses=_ERRORS)
def score_api(name: Instrument, body: ScoreIn,
              user: User = Depends(require("assess"))) -> dict[str, Any]:
    """Score one instrument's responses (skip logic enforced), as `divert score --json`."""
    pack = pack_or_error(body.jurisdiction) if body.jurisdiction is not None else None
    return score(name, body.responses, cutoffs_of(pack)).to_json()


@api.get("/vocabulary", response_model=VocabularyOut)
def vocabulary_api(user: User = Depends(require("assess"))) -> dict[str, Any]:
    """The case vocabulary: each field of a case with its type and allowed values."""
    own = {f.name for f in CASE_FIELDS} | set(_TOP.values())
    derived = [{"name": f.name, "type": f.type, "description": f.description,
                "values": list(f.values)} for f in FIELDS.values() if f.name not in own]
    return {"fields": [f.to_json() for f in CASE_FIELDS], "derived": derived,
            "stages": list(STAGES), "instruments": list(INSTRUMENTS)}


@api.post("/assess", response_model=AdviceOut, response_model_exclude_unset=True,
          responses=_ERRORS)
def assess_api(body: AssessIn, user: User = Depends(require("assess"))) -> dict[str, Any]:
    """Advice on a case stage by stage under a jurisdiction's law: the JSON of
    `divert assess --json`."""
    return run_advice(body.jurisdiction, body.date, body.case,
                      list(body.stages) if body.stages else None, body.projection).to_json()


# --- pages ----------------------------------------------------------------------------------------

GENERAL = "form"  #: the key of an error that belongs to no one field
#: how long a submitted form carried in a hidden field may be (the case and every instrument)
MAX_SUBMISSION = 60_000


class FormErrors(InputError):
    """Every problem of a submitted form, by field name; the first one is the message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        name, message = next(iter(self.errors.items()))
        super().__init__(message, where=name)


_FIELD_NAMES = {f.name for f in CASE_FIELDS}


def errors_of(exc: InputError) -> dict[str, str]:
    """An error of the case model or the advice as {field: message}, the field as on the form."""
    if isinstance(exc, FormErrors):
        return exc.errors
    text = str(exc)
    head, _, rest = text.partition(": ")
    if head == "date" and "no offence.date" in rest:
        return {"offence.date": "Give the date of the offence, or a decision date: the law in "
                                "force on that date applies."}
    name = head.removeprefix("case.")
    if name.startswith("screening."):
        parts = name.split(".")
        return {".".join(parts[:2]): f"{'.'.join(parts[2:])}: {rest}" if len(parts) > 2 else rest}
    if name in _FIELD_NAMES or name in assess_view.FORM_LABELS:
        return {name: rest[:1].upper() + rest[1:]}
    return {GENERAL: text}


def _normalised(values: Mapping[str, str]) -> dict[str, str]:
    """Category answers typed by hand as the vocabulary writes them (`Cannabis resin`)."""
    out = dict(values)
    for f in CASE_FIELDS:
        if f.type == "category" and out.get(f.name, "").strip():
            out[f.name] = choice(out[f.name], f.values) or out[f.name].strip()
    return out


def screening_of(values: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The answered instruments' responses, by instrument, from the form's fields."""
    found = {}
    for f in FORMS.values():
        own = {k[len(f.name) + 1:]: v for k, v in values.items() if k.startswith(f.name + ".")}
        if answered(f, own):
            found[f.name] = responses(f, own)
    return found


def case_of_form(values: Mapping[str, str], sets: Mapping[str, list[str]]
                 ) -> tuple[Policy, dt.date | None, dict[str, Any]]:
    """The pack, decision date and case data (with the answered screenings' responses) of a
    submitted assessment form, checked field by field: FormErrors holds every problem."""
    errors: dict[str, str] = {}
    code = values.get("jurisdiction", "")
    if code not in pack_codes():
        errors["jurisdiction"] = "Choose a jurisdiction from the list."
    if values.get("date", "").strip():
        problem = check_date(values["date"])
        if problem:
            errors["date"] = problem
    errors.update(check_fields(CASE_FIELDS, values, sets))
    pack = None if "jurisdiction" in errors else pack_or_error(code)
    screening = screening_of(values)
    for name, answers in screening.items():
        try:
            score(name, answers, cutoffs_of(pack))
        except InputError as exc:
            errors[f"screening.{name}"] = str(exc)
    if errors:
        raise FormErrors(errors)
    assert pack is not None
    data = case_from_form(_normalised(values), sets)
    if screening:
        data["screening"] = screening
    try:
        check_numbers(parse_case(data, "case"))
    except InputError as exc:
        raise FormErrors(errors_of(exc)) from None
    return pack, parse_day(values.get("date"), "date"), data


def form_values(form: FormData) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The submitted assessment form's fields and the chosen values of its multiple choices; a
    form carried over whole (`submission`, the JSON the advice page keeps) is unpacked."""
    carried = form.get("submission")
    if isinstance(carried, str) and carried:
        return unpack_submission(carried)
    values = {k: str(v) for k, v in form.items() if k != "csrf_token" and isinstance(v, str)}
    sets = {f.name: [str(x) for x in form.getlist(f.name)] for f in CASE_FIELDS if f.type == "set"}
    return values, sets


def pack_submission(values: Mapping[str, str], sets: Mapping[str, list[str]]) -> str:
    """The advised form as one hidden field, so that what is saved is what was advised."""
    keep = {k: v for k, v in values.items()
            if k not in ("submission", "decision", "note", "confirm_not_eligible")}
    return json.dumps({"values": keep, "sets": {k: v for k, v in sets.items() if v}},
                      sort_keys=True, separators=(",", ":"))


def unpack_submission(text: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The form `pack_submission` carried; anything else is refused naming the field."""
    bad = InputError("the carried form is damaged; advise again", where="submission")
    if len(text) > MAX_SUBMISSION:
        raise bad
    try:
        data = json.loads(text)
    except ValueError:
        raise bad from None
    if not isinstance(data, dict):
        raise bad
    values, sets = data.get("values"), data.get("sets")
    if not (isinstance(values, dict) and isinstance(sets, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())
            and all(isinstance(v, list) and all(isinstance(x, str) for x in v)
                    for v in sets.values())):
        raise bad
    return dict(values), {str(k): list(v) for k, v in sets.items()}


def pack_name(code: str) -> str:
    """A pack's name in words (its code when it cannot be read)."""
    try:
        return load(code).meta.name
    except InputError:
        return code


def _page(request: Request, status: int = 200, **ctx: Any) -> Response:
    ctx.setdefault("participant", None)
    ctx.setdefault("errors", {})
    ctx.setdefault("prefilled", [])
    values: dict[str, str] = ctx.pop("values", {})
    sets: dict[str, list[str]] = ctx.pop("sets", {})
    cut = ctx.pop("cut", ScreeningCutoffs())
    instruments = [_instrument_context(f, {k[len(f.name) + 1:]: v for k, v in values.items()
                                           if k.startswith(f.name + ".")}, False, cut)
                   for f in FORMS.values()]
    advice = ctx.get("advice")
    if advice is not None:
        ctx.setdefault("submission", pack_submission(values, sets))
        ctx.setdefault("decision_mode", "save" if ctx["participant"] else None)
        ctx.update(advice_context(advice))
    return render(request, "assess/index.html", status_code=status, codes=pack_codes(),
                  names={c: pack_name(c) for c in pack_codes()}, values=values, sets=sets,
                  instruments=instruments, fields=CASE_FIELDS, parts=CASE_PARTS,
                  catalogue=CATALOGUE, av=assess_view, words=words, **ctx)


def advice_context(advice: Mapping[str, Any]) -> dict[str, Any]:
    """What the summary, the decision form and the advice need of an advice's JSON."""
    return {"pack_label": pack_name(str(advice["jurisdiction"])),
            "options": assess_view.lawful_decisions(advice),
            "coercive": assess_view.coercive_facts(advice),
            "verdicts": assess_view.measures_of(advice)}


def page(request: Request, status: int = 200, **ctx: Any) -> Response:
    """The assessment page; `participant` (a registry code) offers to save the result to them."""
    return _page(request, status, **{**ctx, "participant": _participant(ctx.get("participant"))})


def _participant(value: str | None) -> str | None:
    code = (value or "").strip().upper()
    return code if CODE.match(code) else None


@router.get("/assess", response_class=HTMLResponse)
def assess_page(request: Request, participant: str = "",
                user: User = Depends(require("assess"))) -> Response:
    code = _participant(participant)
    values: dict[str, str] = {"jurisdiction": "model"}
    sets: dict[str, list[str]] = {}
    notes: list[str] = []
    if code and user.can("registry.read"):
        values, sets, notes = assess_prefill.prefill(request, user, code)
    return _page(request, values=values, sets=sets, advice=None, participant=code,
                 prefilled=notes)


@router.post("/assess", response_class=HTMLResponse)
async def assess_submit(request: Request, user: User = Depends(require("assess"))) -> Response:
    form = await request.form()
    values, sets = form_values(form)
    participant = _participant(values.get("participant"))
    cut = ScreeningCutoffs()
    try:
        pack, day, data = case_of_form(values, sets)
        cut = cutoffs_of(pack)
        advice = run_advice(pack.code, day, parse_case(data, "case"), projection=True)
    except InputError as exc:
        return _page(request, 400, values=values, sets=sets, cut=cut, advice=None,
                     errors=errors_of(exc), participant=participant)
    locale = current_locale()
    shown = advice if locale == DEFAULT else localized(advice, locale)
    return _page(request, values=values, sets=sets, cut=cut, advice=shown.to_json(),
                 participant=participant, currency=pack.meta.currency or "")


@router.post("/assess/instrument/{name}", response_class=HTMLResponse)
async def instrument_fragment(request: Request, name: Instrument,
                              user: User = Depends(require("assess"))) -> Response:
    """The instrument's form re-rendered with its skip logic applied to the answers so far."""
    form = await request.form()
    code = str(form.get("jurisdiction", ""))
    cut = cutoffs_of(pack_or_error(code)) if code in pack_codes() else ScreeningCutoffs()
    ctx = _instrument_context(FORMS[name], _form_values(form, name), True, cut)
    return render(request, "assess/_instrument.html", i=ctx)
