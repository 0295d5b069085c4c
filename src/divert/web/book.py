"""The policy book: browse packs, read a pack's rules beside their law, set two jurisdictions'
rules for one stage side by side, follow how a rule changed over time, see only what changed
between two dates, and search rules by measure, text or citation.

Pages and the JSON API (tag "policy") share the data functions of `divert.reports.book`.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from divert.errors import InputError
from divert.i18n import DEFAULT, current_locale
from divert.law.catalogue import CATALOGUE
from divert.law.policy import Policy, load, pack_dirs
from divert.law.vocabulary import STAGES
from divert.reports import book
from divert.web import assess_view
from divert.web.accounts import User
from divert.web.lang import N_
from divert.web.render import render, templates
from divert.web.security import require

templates.env.filters["href"] = book.safe_href  # citations' URLs: linked only when http(s)

router = APIRouter(include_in_schema=False)
api = APIRouter(tags=["policy"])

Stage = Literal["police", "prosecution", "court", "post_sentence"]
STAGE_LABELS = assess_view.STAGE_LABELS  # marked for the web catalogue; translated in the pages
#: where a search hit is (`Match.where`), as the results name it (translated in the page)
WHERE_LABELS = (N_("measure"), N_("condition"), N_("citation"), N_("law"), N_("notes"))
#: the provenance counts' groups (`Policy.provenance_counts`): the stages, the bars, the parameters
COUNT_LABELS = {**STAGE_LABELS, "bars": N_("Bars"), "parameters": N_("Parameters"),
                "practice": N_("Practice")}


def _code(side: str) -> Any:
    return Query(min_length=1, max_length=40, description=f"{side} pack code, as GET /packs lists")


def pack_codes() -> list[str]:
    """The codes of every pack in the policies folder."""
    return [p.name for p in pack_dirs()]


def parse_day(value: str | None, field: str = "on") -> date | None:
    """A date from a form field (empty: None); a bad one is an InputError naming the field."""
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{field}: {value[:40]!r} is not a date; expected YYYY-MM-DD") from None


def pack_or_error(code: str, field: str = "jurisdiction") -> Policy:
    """The pack called `code`; an unknown code is an InputError naming `field` and the packs."""
    codes = pack_codes()
    if code not in codes:
        shown = code if len(code) <= 40 else code[:37] + "..."
        raise InputError(f"{field}: unknown jurisdiction {shown!r}; allowed: {', '.join(codes)}")
    return load(code)


# --- response models ------------------------------------------------------------------------------


class Counts(BaseModel):
    verified: int
    unverified: int


class PackSummary(BaseModel):
    code: str
    name: str
    summary: str
    hash: str
    rules: int
    rules_by_stage: dict[str, int]
    parameters: int
    examples: int
    provenance: dict[str, Counts]
    rule_provenance: Counts = Field(description="verified and unverified rules over all stages")


class InForceOut(BaseModel):
    from_: date | None = Field(None, alias="from", serialization_alias="from")
    to: date | None = None


class ConditionOut(BaseModel):
    test: str
    label: str | None


class LegalBasisOut(BaseModel):
    citation: str
    text: str
    url: str | None
    provenance: Literal["verified", "unverified"]


class RuleOut(BaseModel):
    id: str
    label: str
    stage: Stage
    kind: Literal["alternative", "conventional", "coercive"]
    in_force: InForceOut
    when: list[ConditionOut]
    unless: list[ConditionOut]
    precedence_over: list[str]
    consent_required: bool
    discretionary: bool
    citations: list[str]
    legal_basis: list[LegalBasisOut]
    notes: str | None
    provenance: Literal["verified", "unverified"]


class VersionOut(RuleOut):
    changes: list[str] = Field(description="what changed from the previous version, in words")


class ParameterOut(BaseModel):
    name: str
    description: str | None
    unit: str | None
    values: dict[str, Any] = Field(description="value by effective date (YYYY-MM-DD)")
    citation: str
    provenance: Literal["verified", "unverified"]


class PracticeOut(BaseModel):
    name: str
    description: str
    unit: str | None
    value: Any
    citation: str
    provenance: str
    source: Literal["pack", "default"]


class PackDetail(PackSummary):
    on: date | None = Field(description="rules shown are those in force on this date (null: all)")
    rules_by_stage_detail: dict[str, list[RuleOut]]
    law_parameters: list[ParameterOut]
    practice: list[PracticeOut]
    practice_date: date


class HistoryOut(BaseModel):
    jurisdiction: str
    name: str
    measure: str
    stage: Stage
    label: str
    kind: str
    versions: list[VersionOut]


class Side(BaseModel):
    code: str
    name: str


class CompareRow(BaseModel):
    measure: str
    label: str
    kind: str
    left: list[RuleOut]
    right: list[RuleOut]


class CompareOut(BaseModel):
    stage: Stage
    on: date | None
    left: Side
    right: Side
    rows: list[CompareRow]


class LawCited(BaseModel):
    citation: str
    url: str | None
    provenance: Literal["verified", "unverified"]


class RuleChange(BaseModel):
    stage: Stage
    measure: str
    label: str
    change: Literal["added", "removed", "changed"]
    changes: list[str]
    before: list[dict[str, InForceOut]]
    after: list[dict[str, InForceOut]]
    law_before: list[LawCited]
    law_after: list[LawCited]


class ValueChange(BaseModel):
    name: str
    description: str | None
    unit: str | None
    before: str
    after: str
    citation: str
    provenance: str


class ChangesOut(BaseModel):
    jurisdiction: str
    name: str
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    rules: list[RuleChange]
    parameters: list[ValueChange]
    practice: list[ValueChange]


class SearchMatch(BaseModel):
    where: Literal["measure", "condition", "citation", "law", "notes"]
    text: str


class SearchHit(BaseModel):
    jurisdiction: str
    name: str
    stage: Stage
    measure: str
    label: str
    kind: str
    in_force: InForceOut
    matches: list[SearchMatch]
    citations: list[str]


# --- data -----------------------------------------------------------------------------------------


def pack_detail(pack: Policy, on: date | None) -> dict[str, Any]:
    """A pack with its rules by stage (all versions, or those in force on `on`), law parameters
    and the practice values in use on `on` (default today)."""
    ctx = book.book_context(pack, on)
    return {
        **book.pack_summary(pack), "on": on,
        "rules_by_stage_detail": {s: [book.rule_json(r) for r in book.stage_rules(pack, s, on)]
                                  for s in STAGES},
        "law_parameters": [{"name": n, "description": p.spec.description, "unit": p.spec.unit,
                            "values": {d.isoformat(): v for d, v in p.spec.values.items()},
                            "citation": p.spec.citation, "provenance": p.spec.provenance}
                           for n, p in pack.parameters.items()],
        "practice": [{"name": d.name, "description": d.description, "unit": d.unit,
                      "value": pv.value, "citation": pv.citation, "provenance": pv.provenance,
                      "source": pv.source} for d, pv in ctx["practice"]],
        "practice_date": ctx["practice_date"],
    }


def _history(code: str, measure: str, locale: str = DEFAULT) -> dict[str, Any]:
    pack = pack_or_error(code, "code")
    if measure not in CATALOGUE:
        raise InputError(f"measure: unknown {measure[:40]!r}; allowed: {', '.join(CATALOGUE)}")
    return book.measure_history(pack, measure, locale)


def _changes(code: str, start: str | None, end: str | None) -> dict[str, Any]:
    pack = pack_or_error(code, "code")
    a, b = parse_day(start, "from"), parse_day(end, "to")
    if a is None or b is None:
        raise InputError(f"{'from' if a is None else 'to'}: a date is needed (YYYY-MM-DD)")
    return book.changes_between(pack, a, b)


def _search(q: str, code: str | None) -> list[dict[str, Any]]:
    packs = [pack_or_error(code, "jurisdiction")] if code else [load(c) for c in pack_codes()]
    return book.search(packs, q)


def pack_names() -> list[tuple[str, str]]:
    """(code, name) of every pack, for the jurisdiction selects."""
    return [(c, load(c).meta.name) for c in pack_codes()]


def _compare(left: str, right: str, stage: str, on: date | None) -> dict[str, Any]:
    return book.compare_stage(pack_or_error(left, "left"), pack_or_error(right, "right"), stage, on)


# --- JSON API -------------------------------------------------------------------------------------

_ERRORS: dict[int | str, dict[str, Any]] = {400: {"description": "unknown pack, stage or measure"}}


@api.get("/packs", response_model=list[PackSummary])
def packs_api(user: User = Depends(require("book"))) -> list[dict[str, Any]]:
    """Every policy pack with its rule counts and provenance (as `divert policy list --json`)."""
    return [book.pack_summary(load(c)) for c in pack_codes()]


@api.get("/packs/compare", response_model=CompareOut, responses=_ERRORS)
def compare_api(left: str = _code("left"), right: str = _code("right"), stage: Stage = Query(...),
                on: date | None = Query(None, description="only the rules in force on this date"),
                user: User = Depends(require("book"))) -> dict[str, Any]:
    """Two jurisdictions' rules for the same stage side by side, one row per measure."""
    return _compare(left, right, stage, on)


@api.get("/packs/search", response_model=list[SearchHit])
def search_api(q: str = Query(min_length=1, max_length=200, description="words to find"),
               jurisdiction: str | None = Query(None, max_length=40, description="one pack only"),
               user: User = Depends(require("book"))) -> list[dict[str, Any]]:
    """Rules whose measure, conditions, citations, law text or notes contain every word of q."""
    return _search(q, jurisdiction)


@api.get("/packs/{code}/changes", response_model=ChangesOut, responses=_ERRORS)
def changes_api(code: str,
                start: str = Query(alias="from", max_length=40, description="earlier date"),
                end: str = Query(alias="to", max_length=40, description="later date"),
                user: User = Depends(require("book"))) -> dict[str, Any]:
    """Only what changed in a pack's law and practice between two dates, rule by rule."""
    return _changes(code, start, end)


@api.get("/packs/{code}", response_model=PackDetail, responses=_ERRORS)
def pack_api(code: str, on: date | None = Query(None, description="only the rules in force on "
                                                "this date; practice values as of it"),
             user: User = Depends(require("book"))) -> dict[str, Any]:
    """A pack: its rules by stage with their law, law parameters and practice values."""
    return pack_detail(pack_or_error(code, "code"), on)


@api.get("/packs/{code}/measures/{measure}/history", response_model=HistoryOut, responses=_ERRORS)
def history_api(code: str, measure: str, user: User = Depends(require("book"))) -> dict[str, Any]:
    """How one measure's rule changed over time: each dated version and what changed."""
    return _history(code, measure)


# --- pages ----------------------------------------------------------------------------------------


@router.get("/book", response_class=HTMLResponse)
def index_page(request: Request, user: User = Depends(require("book"))) -> Response:
    packs = [book.pack_summary(load(c)) for c in pack_codes()]
    return render(request, "book/index.html", packs=packs, stages=STAGES,
                  stage_labels=STAGE_LABELS)


@router.get("/book/search", response_class=HTMLResponse)
def search_page(request: Request, q: str = Query("", max_length=200),
                jurisdiction: str | None = Query(None, max_length=40),
                user: User = Depends(require("book"))) -> Response:
    code = jurisdiction or None
    hits = _search(q, code) if q.strip() else []
    return render(request, "book/search.html", q=q, hits=hits, packs=pack_names(),
                  chosen=code, stage_labels=STAGE_LABELS)


@router.get("/book/compare", response_class=HTMLResponse)
def compare_page(request: Request, left: str | None = Query(None, max_length=40),
                 right: str | None = Query(None, max_length=40),
                 stage: Stage = Query("police"), on: str | None = Query(None, max_length=40),
                 user: User = Depends(require("book"))) -> Response:
    codes = pack_codes()
    left = left or codes[0]
    right = right or (codes[1] if len(codes) > 1 else codes[0])
    day = parse_day(on)
    data = _compare(left, right, stage, day)
    return render(request, "book/compare.html", data=data, packs=pack_names(), stages=STAGES,
                  stage_labels=STAGE_LABELS, chosen={"left": left, "right": right, "stage": stage, "on": day})


@router.get("/book/{code}", response_class=HTMLResponse)
def pack_page(request: Request, code: str, on: str | None = Query(None, max_length=40),
              user: User = Depends(require("book"))) -> Response:
    pack = pack_or_error(code, "code")
    day = parse_day(on)
    rules = {s: [book.rule_json(r) for r in book.stage_rules(pack, s, day)] for s in STAGES}
    return render(request, "book/pack.html", rules=rules, on=day, stage_labels=STAGE_LABELS,
                  count_labels=COUNT_LABELS,
                  **book.book_context(pack, day))


@router.get("/book/{code}/changes", response_class=HTMLResponse)
def changes_page(request: Request, code: str, start: str | None = Query(None, alias="from",
                                                                         max_length=40),
                 end: str | None = Query(None, alias="to", max_length=40),
                 user: User = Depends(require("book"))) -> Response:
    pack = pack_or_error(code, "code")
    data, errors = None, {}
    if start or end:
        try:
            data = _changes(code, start, end)
        except InputError as exc:  # shown beside its field, the form kept
            field, _, message = str(exc).partition(": ")
            errors[field if field in ("from", "to") else "from"] = message or str(exc)
    return render(request, "book/changes.html", pack=pack, data=data, errors=errors,
                  status_code=422 if errors else 200,
                  chosen={"from": start or "", "to": end or ""}, stage_labels=STAGE_LABELS)


@router.get("/book/{code}/measures/{measure}", response_class=HTMLResponse)
def history_page(request: Request, code: str, measure: str,
                 user: User = Depends(require("book"))) -> Response:
    return render(request, "book/history.html", data=_history(code, measure, current_locale()))
