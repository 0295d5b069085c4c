"""The registry's codes as a page names them (a status, a result's state, a response's kind, a
behaviour, a test method, a session kind, the default programme's incentives and sanctions), marked
for the web catalogue and translated where they are shown (the `term` filter); and the registry
figures' column names as their headings (the `column` filter; the exported files keep the names)."""

from __future__ import annotations

from divert.web.lang import N_, _

#: code -> its English name (translated at display)
TERMS: dict[str, str] = {
    # participants, enrolments, hearings, sessions, attendance
    "referred": N_("referred"), "enrolled": N_("enrolled"), "active": N_("active"),
    "graduated": N_("graduated"), "terminated": N_("terminated"), "withdrawn": N_("withdrawn"),
    "completed": N_("completed"), "scheduled": N_("scheduled"), "held": N_("held"),
    "cancelled": N_("cancelled"), "attended": N_("attended"), "missed": N_("missed"),
    "excused": N_("excused"),
    "queued": N_("queued"), "running": N_("running"), "done": N_("done"), "failed": N_("failed"),
    # test results and their states
    "negative": N_("negative"), "positive": N_("positive"), "dilute": N_("dilute"),
    "adulterated": N_("adulterated"), "refused": N_("refused"), "collected": N_("collected"),
    "pending": N_("pending"), "confirmed": N_("confirmed"), "contested": N_("contested"),
    "lab_confirmed": N_("lab-confirmed"), "for_cause": N_("for cause"), "random": N_("random"),
    # responses and behaviours
    "incentive": N_("incentive"), "sanction": N_("sanction"),
    "therapeutic": N_("therapeutic adjustment"),
    "positive_test": N_("positive test"), "missed_test": N_("missed test"),
    "invalid_sample": N_("invalid sample"), "missed_hearing": N_("missed hearing"),
    "missed_session": N_("missed session"), "new_arrest": N_("new arrest"),
    "negative_test": N_("negative test"), "attendance": N_("attendance"),
    "milestone": N_("milestone"), "other": N_("other"),
    "female": N_("female"), "male": N_("male"),
    "use": N_("use"), "possession": N_("possession"), "possession_for_supply": N_("possession for supply"),
    "supply": N_("supply"), "trafficking": N_("trafficking"), "cultivation": N_("cultivation"),
    "property": N_("property"), "violent": N_("violent"),
    # the registry figures' quadrant column beyond the quadrants' own codes
    "unknown": N_("unknown"), "all": N_("all"),
    # test methods and session kinds
    "urine": N_("urine"), "oral_fluid": N_("oral fluid"), "sweat_patch": N_("sweat patch"),
    "breath": N_("breath"), "blood": N_("blood"), "hair": N_("hair"),
    "treatment": N_("treatment"), "group": N_("group"), "counselling": N_("counselling"),
    "case management": N_("case management"), "medication review": N_("medication review"),
    "hearing": N_("hearing"), "test": N_("test"), "session": N_("session"),
    # the default programme's incentives, sanctions and therapeutic adjustments
    "verbal praise": N_("verbal praise"), "applause in court": N_("applause in court"),
    "reduced reporting": N_("reduced reporting"), "gift card": N_("gift card"),
    "curfew relaxed": N_("curfew relaxed"), "phase certificate": N_("phase certificate"),
    "praise": N_("praise"),
    "verbal warning": N_("verbal warning"), "essay or journal": N_("essay or journal"),
    "increased reporting": N_("increased reporting"), "community service": N_("community service"),
    "community_service": N_("community service"), "curfew": N_("curfew"), "jail": N_("jail"),
    "clinical reassessment": N_("clinical reassessment"),
    "review of treatment intensity or medication": N_("review of treatment intensity or medication"),
    "review of barriers to attendance (transport, work, childcare)":
        N_("review of barriers to attendance (transport, work, childcare)"),
    # the timeline's events and a response's state, and the promotion criteria
    "status hearing": N_("status hearing"), "drug test": N_("drug test"),
    "phase change": N_("phase change"), "consent given": N_("consent given"),
    "consent withdrawn": N_("consent withdrawn"), "rearrest": N_("rearrest"), "case": N_("case"),
    "screening": N_("screening"), "advice": N_("advice"), "imposed": N_("imposed"),
    "days_in_phase": N_("days in phase"), "days_abstinent": N_("days abstinent"),
    "attendance_rate": N_("attendance rate"), "no_pending_sanction": N_("no pending sanction"),
    # the triage's levels and a disorder's severity
    "low": N_("low"), "high": N_("high"), "none": N_("none"), "mild": N_("mild"),
    "moderate": N_("moderate"), "severe": N_("severe"),
    # a measure's kind in the policy book
    "alternative": N_("alternative"), "conventional": N_("conventional"), "coercive": N_("coercive"),
    # a screening instrument's band (AUDIT zones, DAST-10)
    "low_risk": N_("low risk"), "hazardous": N_("hazardous use"), "harmful": N_("harmful use"),
    "dependence_likely": N_("dependence likely"), "substantial": N_("substantial"),
    # where a measure's simulated effect places a person, and the treatment it carries
    "next_stage": N_("the next stage"), "community": N_("the community"),
    "programme": N_("a programme"), "custody": N_("custody"),
    "compulsory_centre": N_("a compulsory centre"), "stay_in_custody": N_("custody, with the measure"),
    "residential": N_("residential"), "in_prison": N_("in prison"),
    # a stage, inside a sentence
    "police": N_("police"), "prosecution": N_("prosecution"), "court": N_("court"),
    "post_sentence": N_("post sentence"),
}


def term(code: object) -> object:
    """A registry code in the page's language; a code the list does not know (a programme's own
    incentive) as stored, underscores read as spaces."""
    if not isinstance(code, str) or not code:
        return code
    return _label(TERMS, code)


#: a column of `divert.registry.export.COLUMNS` -> its heading in English (translated at display)
COLUMN_HEADINGS: dict[str, str] = {
    "programme": N_("programme"), "phase": N_("phase"), "quadrant": N_("quadrant"),
    "people": N_("people"), "mean_days": N_("mean days"), "median_days": N_("median days"),
    "p25_days": N_("p25 days"), "p75_days": N_("p75 days"), "left": N_("left"),
    "graduated": N_("graduated"), "terminated": N_("terminated"), "withdrawn": N_("withdrawn"),
    "active": N_("active"), "graduation_rate": N_("graduation rate"),
    "termination_rate": N_("termination rate"), "people_tested": N_("people tested"),
    "tests": N_("tests"), "positive": N_("positive"), "missed": N_("missed"),
    "invalid": N_("invalid"), "positivity": N_("positivity"),
    "rearrested_during": N_("rearrested during"), "rearrest_rate_during": N_("rearrest rate during"),
    "followed_365": N_("followed 365"), "rearrested_365_after": N_("rearrested 365 after"),
    "rearrest_rate_365_after": N_("rearrest rate 365 after"),
}


#: a timeline event's detail (`divert.registry.service.timeline`) -> its name in English
DETAIL_NAMES: dict[str, str] = {
    "reference": N_("reference"), "facts": N_("facts"), "instrument": N_("instrument"),
    "result": N_("result"), "jurisdiction": N_("jurisdiction"), "quadrant": N_("quadrant"),
    "recommended": N_("recommended"), "pack_hash": N_("pack hash"),
    "confirmed_by": N_("confirmed by"), "final_decision": N_("final decision"),
    "measure": N_("measure"), "offence_type": N_("offence type"), "phase": N_("phase"),
    "status": N_("status"), "planned_end": N_("planned end"), "reason": N_("reason"),
    "from_phase": N_("from phase"), "to_phase": N_("to phase"), "kind": N_("kind"),
    "method": N_("method"), "due_by": N_("due by"), "substances": N_("substances"),
    "awaiting_response": N_("awaiting response"), "held_on": N_("held on"), "type": N_("type"),
    "behaviour": N_("behaviour"), "test": N_("test"), "level": N_("level"),
    "jail_days": N_("jail days"), "state": N_("state"),
}


def detail_name(key: str) -> str:
    """A timeline detail's name in the page's language (`confirmed_by`: "confirmed by")."""
    return _label(DETAIL_NAMES, key)


#: a parameter's unit in the policy book and the comparisons -> in English (translated at display)
UNITS: dict[str, str] = {
    "share": N_("share"), "months": N_("months"), "years": N_("years"), "year": N_("year"),
    "per year": N_("per year"), "share per year": N_("share per year"),
    "probability": N_("probability"), "ratio": N_("ratio"), "weight": N_("weight"),
    "persons": N_("persons"), "people": N_("people"), "places": N_("places"),
    "route": N_("route"), "days": N_("days"), "currency": N_("currency"),
    "currency per year": N_("currency per year"), "currency per month": N_("currency per month"),
    "currency (2008 USD)": N_("currency (2008 USD)"),
    "points": N_("points"), "plants": N_("plants"),
}
#: "<currency> per month" and the like: a unit made of a currency code and a period
_PER = {" per month": N_("%(currency)s per month"), " per year": N_("%(currency)s per year")}


def unit(text: object) -> object:
    """A unit in the page's language; a currency code, grams or a unit the list does not know as
    written."""
    if not isinstance(text, str) or not text:
        return text
    if text in UNITS:
        return _(UNITS[text])
    for tail, message in _PER.items():
        code = text.removesuffix(tail)
        if code != text and code.isupper() and code.isalpha():
            return _(message) % {"currency": code}
    return text


def column(name: str) -> str:
    """A registry figures' column as its heading in the page's language; a column the list does not
    know as named, underscores read as spaces."""
    return _label(COLUMN_HEADINGS, name)


def _label(labels: dict[str, str], code: str) -> str:
    """`code`'s label in the page's language, or the code itself, underscores read as spaces."""
    return _(labels[code]) if code in labels else code.replace("_", " ")
