"""The screening instruments as guided forms: each question's wording, options and skip rule.

The scoring, the checks and the skip logic that refuses impossible answers stay in
`divert.advice.screening`; this module only says how to ask. Question wording is a short paraphrase of
each instrument's published item (the screening module holds item keys and scores, not text), so
the form names the item and the printed instrument stays the reference. Skip rules are data
(`Condition`): a question is asked when every condition holds, skipped as soon as one is known
to fail, and shown while its conditions are still unknown (so the form works without JavaScript).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from divert.advice.screening import (
    ASSIST_DRUGS,
    ASSIST_EVER,
    ASSIST_FREQUENCY,
    ASSIST_SUBSTANCES,
    CRAFFT_PART_A,
    CRAFFT_PART_B,
    INSTRUMENTS,
)
from divert.web.lang import N_, _

Kind = Literal["choice", "yes_no", "number"]
#: the questions' wording, the options' labels, the groups' names, the purposes, hints and skip
#: rules' texts are in English, marked for the web catalogue and translated where the form shows
#: them (`shown`; the API gives them in English)
YES_NO = (("yes", N_("Yes")), ("no", N_("No")))


@dataclass(frozen=True)
class Condition:
    """Holds when at least one of `fields` has one of `values` (or, with `above`, a number above)."""

    fields: tuple[str, ...]
    values: tuple[str, ...] = ()
    above: int | None = None
    text: str = ""
    params: tuple[tuple[str, str], ...] = ()  # the text's placeholders: name -> a marked message

    @property
    def shown(self) -> str:
        """The rule in plain words in the page's language."""
        return _words(self.text, self.params)

    def state(self, answers: Mapping[str, str]) -> bool | None:
        """True, False, or None while unknown (some fields unanswered, none satisfying)."""
        given = [answers.get(f, "").strip() for f in self.fields]
        if any(self._holds(v) for v in given if v):
            return True
        return False if all(given) else None

    def _holds(self, value: str) -> bool:
        if self.above is not None:
            return value.isdigit() and int(value) > self.above
        return value.lower() in self.values

    def to_json(self) -> dict[str, Any]:
        return {"any_of": list(self.fields), "in": list(self.values) or None, "above": self.above,
                "text": _english(self.text, self.params)}


@dataclass(frozen=True)
class Question:
    """One item: `key` is its place in the responses (dots; a number indexes a list)."""

    key: str
    label: str
    kind: Kind
    options: tuple[tuple[str, str], ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    asked_when: tuple[Condition, ...] = ()
    group: str | None = None
    hint: str | None = None
    prefix: str = ""  # the item's number or letter before its wording ("1. ", "CAR: ")
    wording: str = ""  # the marked message of the label without its prefix; "": the label as is
    params: tuple[tuple[str, str], ...] = ()

    @property
    def shown(self) -> str:
        """The question in the page's language, its number or letter kept."""
        return self.prefix + _words(self.wording, self.params) if self.wording else self.label

    def state(self, answers: Mapping[str, str]) -> bool | None:
        """Whether the question is asked: True, False (skipped) or None (not yet known)."""
        states = [c.state(answers) for c in self.asked_when]
        if False in states:
            return False
        return None if None in states else True

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "kind": self.kind,
                "options": [{"value": v, "label": lab} for v, lab in self.options],
                "minimum": self.minimum, "maximum": self.maximum, "group": self.group,
                "hint": self.hint, "asked_when": [c.to_json() for c in self.asked_when]}


@dataclass(frozen=True)
class InstrumentForm:
    name: str
    title: str
    purpose: str
    questions: tuple[Question, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "purpose": self.purpose,
                "questions": [q.to_json() for q in self.questions]}


def _words(message: str, params: tuple[tuple[str, str], ...]) -> str:
    """A marked message in the page's language, its placeholders filled with marked words (a
    substance's name, lower case inside the sentence)."""
    text = _(message)
    return text % {k: _(v).lower() for k, v in params} if params else text


def _english(message: str, params: tuple[tuple[str, str], ...] = ()) -> str:
    return message % {k: v.lower() for k, v in params} if params else message


def _ask(key: str, prefix: str, wording: str, kind: Kind, options: tuple[tuple[str, str], ...] = (),
         params: tuple[tuple[str, str], ...] = (), **more: Any) -> Question:
    """A question whose label is `prefix` and the marked `wording` (English in the API)."""
    return Question(key, prefix + _english(wording, params), kind, options, prefix=prefix,
                    wording=wording, params=params, **more)


def _when(fields: tuple[str, ...], values: tuple[str, ...] = (), above: int | None = None,
          text: str = "", params: tuple[tuple[str, str], ...] = ()) -> Condition:
    """A skip rule with its marked plain-words `text` (English in the API)."""
    return Condition(fields, values, above, text, params)


def _yes_no_list(key: str, labels: list[str], hint: str | None = None) -> tuple[Question, ...]:
    return tuple(_ask(f"{key}.{i}", f"{i + 1}. ", text, "yes_no", YES_NO,
                      hint=hint if i == 2 and hint else None)
                 for i, text in enumerate(labels))


_AUDIT_FREQ = (N_("Never"), N_("Less than monthly"), N_("Monthly"), N_("Weekly"),
               N_("Daily or almost daily"))
_AUDIT_HARM = (N_("No"), N_("Yes, but not in the last year"), N_("Yes, during the last year"))
_AUDIT_ITEMS: list[tuple[str, tuple[str, ...]]] = [
    (N_("How often do you have a drink containing alcohol?"),
     (N_("Never"), N_("Monthly or less"), N_("2-4 times a month"), N_("2-3 times a week"),
      N_("4 or more times a week"))),
    (N_("How many drinks containing alcohol do you have on a typical day when you are drinking?"),
     (N_("1 or 2"), N_("3 or 4"), N_("5 or 6"), N_("7 to 9"), N_("10 or more"))),
    (N_("How often do you have six or more drinks on one occasion?"), _AUDIT_FREQ),
    (N_("How often in the last year have you been unable to stop drinking once you had started?"),
     _AUDIT_FREQ),
    (N_("How often in the last year have you failed to do what was normally expected of you "
     "because of drinking?"), _AUDIT_FREQ),
    (N_("How often in the last year have you needed a first drink in the morning to get going after "
     "a heavy drinking session?"), _AUDIT_FREQ),
    (N_("How often in the last year have you had a feeling of guilt or remorse after drinking?"),
     _AUDIT_FREQ),
    (N_("How often in the last year have you been unable to remember what happened the night before "
     "because of your drinking?"), _AUDIT_FREQ),
    (N_("Have you or someone else been injured because of your drinking?"), _AUDIT_HARM),
    (N_("Has a relative, friend, doctor or other health worker been concerned about your drinking "
     "or suggested you cut down?"), _AUDIT_HARM),
]
_AUDIT_DRINKS = _when(("answers.0",), ("1", "2", "3", "4"),
                      text=N_("item 1 is not 'Never' (items 2-8 are skipped for non-drinkers)"))


def _audit() -> InstrumentForm:
    qs = []
    for i, (text, options) in enumerate(_AUDIT_ITEMS):
        when = (_AUDIT_DRINKS,) if 1 <= i <= 7 else ()
        qs.append(_ask(f"answers.{i}", f"{i + 1}. ", text, "choice",
                       tuple((str(j), o) for j, o in enumerate(options)), asked_when=when))
    return InstrumentForm("audit", "AUDIT (Alcohol Use Disorders Identification Test)",
                          N_("Alcohol use in the past year; zones I-IV."), tuple(qs))


_ASSIST_NAMES = {
    "tobacco": N_("Tobacco products"), "alcohol": N_("Alcoholic beverages"),
    "cannabis": N_("Cannabis"), "cocaine": N_("Cocaine"),
    "amphetamines": N_("Amphetamine-type stimulants"), "inhalants": N_("Inhalants"),
    "sedatives": N_("Sedatives or sleeping pills"), "hallucinogens": N_("Hallucinogens"),
    "opioids": N_("Opioids"), "other": N_("Other substances"),
}
_FREQ_NAMES = {"never": N_("never"), "once_or_twice": N_("once or twice"),
               "monthly": N_("monthly"), "weekly": N_("weekly"),
               "daily": N_("daily or almost daily")}
_FREQ = tuple((v, _FREQ_NAMES[v]) for v in ASSIST_FREQUENCY)
_EVER = (("no", N_("No, never")), ("yes_past_3_months", N_("Yes, in the past 3 months")),
         ("yes_not_past_3_months", N_("Yes, but not in the past 3 months")))
_ASSIST_Q = {
    "q2": N_("In the past 3 months, how often have you used %(substance)s?"),
    "q3": N_("In the past 3 months, how often have you had a strong desire or urge to use "
             "%(substance)s?"),
    "q4": N_("In the past 3 months, how often has your use of %(substance)s led to health, "
             "social, legal or financial problems?"),
    "q5": N_("In the past 3 months, how often have you failed to do what was normally expected "
             "of you because of your use of %(substance)s?"),
    "q6": N_("Has a friend, relative or anyone else ever expressed concern about your use of "
             "%(substance)s?"),
    "q7": N_("Have you ever tried and failed to control, cut down or stop using %(substance)s?"),
}


def _assist() -> InstrumentForm:
    assert tuple(v for v, _ in _EVER) == ASSIST_EVER
    qs: list[Question] = []
    for s in ASSIST_SUBSTANCES:
        name = _ASSIST_NAMES[s]
        base = f"substances.{s}"
        sub = (("substance", name),)
        used = _when((f"{base}.q1",), ("yes",), text=N_("Q1 for %(substance)s is 'yes'"),
                     params=sub)
        recent = _when((f"{base}.q2",), tuple(ASSIST_FREQUENCY[1:]),
                       text=N_("Q2 for %(substance)s is not 'never'"), params=sub)
        qs.append(_ask(f"{base}.q1", "Q1. ", N_("In your life, have you ever used %(substance)s "
                                                "(non-medical use only)?"), "yes_no", YES_NO,
                       sub, group=name))
        for q in ("q2", "q3", "q4", "q5", "q6", "q7"):
            if s == "tobacco" and q == "q5":
                continue  # not asked for tobacco
            when = (used,) if q in ("q2", "q6", "q7") else (used, recent)
            opts = _FREQ if q in ("q2", "q3", "q4", "q5") else _EVER
            qs.append(_ask(f"{base}.{q}", f"Q{q[1]}. ", _ASSIST_Q[q], "choice", opts, sub,
                           asked_when=when, group=name))
    any_drug = _when(tuple(f"substances.{s}.q1" for s in ASSIST_DRUGS), ("yes",),
                     text=N_("Q1 is 'yes' for a substance other than tobacco or alcohol"))
    qs.append(_ask("q8", "Q8. ", N_("Have you ever used any drug by injection (non-medical use "
                                    "only)?"), "choice", _EVER, asked_when=(any_drug,),
                   group=N_("Injecting")))
    return InstrumentForm("assist", "WHO ASSIST v3.0",
                          N_("Substance involvement per substance (SSI) and injecting; answer Q1 "
                             "for each substance, the rest only where asked."), tuple(qs))


def _crafft() -> InstrumentForm:
    labels_a = {
        "alcohol_days": N_("Part A. During the past 12 months, on how many days did you drink "
                           "more than a few sips of beer, wine or any drink containing alcohol?"),
        "cannabis_days": N_("Part A. During the past 12 months, on how many days did you use any "
                            "marijuana (cannabis)?"),
        "other_days": N_("Part A. During the past 12 months, on how many days did you use "
                         "anything else to get high?"),
    }
    labels_b = {
        "car": N_("Have you ever ridden in a car driven by someone (including yourself) who was "
                  "high or had been using alcohol or drugs?"),
        "relax": N_("Do you ever use alcohol or drugs to relax, feel better about yourself, or "
                    "fit in?"),
        "alone": N_("Do you ever use alcohol or drugs while you are by yourself, or alone?"),
        "forget": N_("Do you ever forget things you did while using alcohol or drugs?"),
        "friends": N_("Do your family or friends ever tell you that you should cut down on your "
                      "drinking or drug use?"),
        "trouble": N_("Have you ever gotten into trouble while you were using alcohol or drugs?"),
    }
    qs = [_ask(f"part_a.{k}", "", labels_a[k], "number", minimum=0, maximum=365,
               group=N_("Part A"), hint=N_("Days, 0 to 365; put 0 if none."))
          for k in CRAFFT_PART_A]
    any_use = _when(tuple(f"part_a.{k}" for k in CRAFFT_PART_A), above=0,
                    text=N_("a Part A answer is above 0 (otherwise only CAR is asked)"))
    for k in CRAFFT_PART_B:
        qs.append(_ask(f"part_b.{k}", f"{k.upper()}: ", labels_b[k], "yes_no", YES_NO,
                       asked_when=() if k == "car" else (any_use,), group=N_("Part B")))
    return InstrumentForm("crafft", "CRAFFT 2.1 (ages 12-21)",
                          N_("Adolescent screen: Part A days of use, Part B yes count."), tuple(qs))


def _psa() -> InstrumentForm:
    qs = (
        _ask("age", "", N_("Age at the current arrest"), "number", minimum=18, maximum=120,
                 hint=N_("The PSA is for adults: 18 to 120.")),
        _ask("current_violent", "", N_("Is the current offence violent?"), "yes_no", YES_NO),
        _ask("pending_charge", "", N_("Was a charge pending at the time of the offence?"), "yes_no",
                 YES_NO),
        _ask("prior_misdemeanor", "", N_("Any prior misdemeanor conviction?"), "yes_no", YES_NO),
        _ask("prior_felony", "", N_("Any prior felony conviction?"), "yes_no", YES_NO),
        _ask("prior_violent_convictions", "", N_("Number of prior violent convictions"), "number",
             minimum=0, maximum=1000),
        _ask("fta_past_2_years", "", N_("Failures to appear in the past 2 years"), "number",
             minimum=0, maximum=1000),
        _ask("fta_older", "", N_("Any failure to appear older than 2 years?"), "yes_no", YES_NO),
        _ask("prior_incarceration", "", N_("Any prior sentence to incarceration?"), "yes_no", YES_NO),
    )
    return InstrumentForm("psa", "Public Safety Assessment (PSA)",
                          N_("Pretrial failure to appear (FTA), new criminal activity (NCA) and "
                             "the violence flag (NVCA); adults."), qs)


FORMS: dict[str, InstrumentForm] = {f.name: f for f in (
    _assist(),
    InstrumentForm("dast10", "DAST-10 (Drug Abuse Screening Test)",
                   N_("Drug use other than alcohol in the past 12 months."), _yes_no_list("answers", [
                       N_("Have you used drugs other than those required for medical reasons?"),
                       N_("Do you use more than one drug at a time?"),
                       N_("Are you always able to stop using drugs when you want to?"),
                       N_("Have you had blackouts or flashbacks as a result of drug use?"),
                       N_("Do you ever feel bad or guilty about your drug use?"),
                       N_("Does your spouse (or parents) ever complain about your involvement "
                          "with drugs?"),
                       N_("Have you neglected your family because of your use of drugs?"),
                       N_("Have you engaged in illegal activities in order to obtain drugs?"),
                       N_("Have you ever experienced withdrawal symptoms when you stopped taking "
                          "drugs?"),
                       N_("Have you had medical problems as a result of your drug use?"),
                   ], hint=N_("Scored reversed: 'No' counts one point."))),
    _audit(),
    _crafft(),
    InstrumentForm("cage_aid", "CAGE-AID", N_("Alcohol and other drugs, lifetime."),
                   _yes_no_list("answers", [
                       N_("Cut down: have you ever felt you ought to cut down on your drinking or "
                          "drug use?"),
                       N_("Annoyed: have people annoyed you by criticising your drinking or drug use?"),
                       N_("Guilty: have you felt bad or guilty about your drinking or drug use?"),
                       N_("Eye-opener: have you ever used alcohol or drugs first thing in the "
                          "morning to steady your nerves or get rid of a hangover?")])),
    InstrumentForm("uncope", "UNCOPE", N_("Six-item screen for substance use disorder."),
                   _yes_no_list("answers", [
                       N_("Used: have you continued to use alcohol or drugs longer than you meant to?"),
                       N_("Neglected: have you ever neglected your usual responsibilities because "
                          "of alcohol or drug use?"),
                       N_("Cut down: have you ever wanted to cut down or stop using alcohol or drugs?"),
                       N_("Objected: has your family, a friend or anyone else ever objected to your "
                          "alcohol or drug use?"),
                       N_("Preoccupied: have you found yourself thinking a lot about drinking or "
                          "using?"),
                       N_("Emotional discomfort: have you ever used alcohol or drugs to relieve "
                          "emotional discomfort?")])),
    InstrumentForm("dsm5", "DSM-5 substance use disorder criteria",
                   N_("Criteria met in the past 12 months; severity by count."),
                   _yes_no_list("criteria", [
                       N_("Taken in larger amounts or over a longer period than intended"),
                       N_("Persistent desire or unsuccessful efforts to cut down or control use"),
                       N_("A great deal of time spent obtaining, using or recovering"),
                       N_("Craving, or a strong desire or urge to use"),
                       N_("Recurrent use resulting in failure to fulfil major obligations"),
                       N_("Continued use despite persistent social or interpersonal problems"),
                       N_("Important activities given up or reduced because of use"),
                       N_("Recurrent use in physically hazardous situations"),
                       N_("Continued use despite a physical or psychological problem caused or "
                          "made worse by it"),
                       N_("Tolerance"),
                       N_("Withdrawal")])),
    _psa(),
)}
assert tuple(FORMS) == tuple(sorted(FORMS, key=INSTRUMENTS.index))


def answered(form: InstrumentForm, values: Mapping[str, str]) -> bool:
    """Whether any question of the instrument has an answer."""
    return any(values.get(q.key, "").strip() for q in form.questions)


def responses(form: InstrumentForm, values: Mapping[str, str]) -> dict[str, Any]:
    """The answers given on the form as the responses `screening.score` reads. Questions the skip
    rules skip are left out (AUDIT items 2-8: null); numbers are read as whole numbers where they
    are, else passed on for the scorer to refuse with its own message."""
    out: dict[str, Any] = {}
    lists: dict[str, dict[int, Any]] = {}
    for q in form.questions:
        raw = values.get(q.key, "").strip()
        asked = q.state(values) is not False
        if q.kind == "number" or (form.name == "audit" and q.kind == "choice"):
            value: Any = int(raw) if raw.isdigit() and len(raw) < 10 else (raw or None)
        else:
            value = raw or None
        parts = q.key.split(".")
        if parts[-1].isdigit():
            lists.setdefault(parts[0], {})[int(parts[-1])] = value if asked else None
            continue
        if not asked or value is None:
            continue
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    for key, items in lists.items():
        out[key] = [items.get(i) for i in range(max(items) + 1)]
    if form.name == "assist":
        subs = out.setdefault("substances", {})
        for name in list(subs):
            if "q1" not in subs[name]:  # a substance without Q1 was not asked about
                del subs[name]
    if form.name == "crafft":
        out.setdefault("part_a", {})
        out.setdefault("part_b", {})
    return out
