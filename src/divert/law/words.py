"""The law's own words that pages and reports show beside codes: stage, kind and status names,
marked for the law catalogue (translated where they are read, with `divert.i18n`)."""

from __future__ import annotations

from divert.i18n import DEFAULT, N_, translator


def pgettext(context: str, message: str) -> str:
    """Mark a message with a context for extraction (translated when read)."""
    return message


STAGE_LABELS: dict[str, str] = {
    "police": pgettext("stage", "Police"),
    "prosecution": pgettext("stage", "Prosecution"),
    "court": pgettext("stage", "Court"),
    "post_sentence": pgettext("stage", "Post-sentence"),
}
"""Each stage's name as a heading (context "stage": the prosecution stage is not the measure)."""

KIND_LABELS: dict[str, str] = {
    "alternative": N_("alternative"),
    "conventional": N_("conventional"),
    "coercive": N_("coercive"),
}
"""Each measure kind's name (a badge beside the measure)."""

STATUS_LABELS: dict[str, str] = {
    "eligible": N_("eligible"),
    "not_eligible": N_("not eligible"),
    "undetermined": N_("undetermined"),
}
"""Each advice status's name."""

PROVENANCE_LABELS: dict[str, str] = {
    "verified": N_("verified"),
    "unverified": N_("unverified"),
    "fitted": N_("fitted"),
}
"""Each provenance's name (read in the source, or not, or fitted by calibration)."""


def stage_name(stage: str, locale: str = DEFAULT) -> str:
    """A stage's name in `locale` (the code itself for a stage the law does not name)."""
    label = STAGE_LABELS.get(stage)
    return translator(locale, "law").pgettext("stage", label) if label else stage


def word(labels: dict[str, str], code: str, locale: str = DEFAULT) -> str:
    """A kind's, status's or provenance's name in `locale` (the code when it has none)."""
    label = labels.get(code)
    return translator(locale, "law").gettext(label) if label else code


def label(text: str, locale: str = DEFAULT) -> str:
    """A label of the law's data (measure, condition, bar) in `locale`, as written when the law
    catalogue has no translation of it."""
    return translator(locale, "law").gettext(text)
