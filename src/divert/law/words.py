"""The law's own words that pages and reports show beside codes: stage, kind and status names,
marked for the law catalogue (translated where they are read, with `divert.i18n`)."""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message of the law catalogue for extraction; it is translated when read."""
    return message


STAGE_LABELS: dict[str, str] = {
    "police": N_("Police"),
    "prosecution": N_("Prosecution"),
    "court": N_("Court"),
    "post_sentence": N_("Post-sentence"),
}
"""Each stage's name as a heading."""

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
