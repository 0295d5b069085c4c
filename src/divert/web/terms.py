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


def column(name: str) -> str:
    """A registry figures' column as its heading in the page's language; a column the list does not
    know as named, underscores read as spaces."""
    return _label(COLUMN_HEADINGS, name)


def _label(labels: dict[str, str], code: str) -> str:
    """`code`'s label in the page's language, or the code itself, underscores read as spaces."""
    return _(labels[code]) if code in labels else code.replace("_", " ")
