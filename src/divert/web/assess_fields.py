"""Checks of the assessment form, field by field, in plain words: every error is kept beside the
field it belongs to (a form is never refused on its first error only), and a category typed by
hand (a substance, an offence type) is matched to the vocabulary with a did-you-mean.

The case model (`divert.advice.case`) stays the authority: these checks run first so that a person sees
every problem at once; whatever they let through is still checked by the model.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Iterable, Mapping
from typing import Protocol

#: the largest number a case fact may hold (beyond it the arrays the rules read would overflow)
MAX_NUMBER = 1e9
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2199, 12, 31)


class FieldSpec(Protocol):
    """What a check needs to know of a form field (`assess.CaseField` has it)."""

    name: str
    type: str
    values: tuple[str, ...]
    minimum: float | None
    maximum: float | None
    whole: bool


def words(value: str) -> str:
    """A vocabulary value in words: `cannabis_resin` -> `cannabis resin`."""
    return value.replace("_", " ")


def _key(text: str) -> str:
    return "_".join(text.strip().lower().replace("-", " ").split())


def choice(raw: str, allowed: Iterable[str]) -> str | None:
    """The vocabulary value `raw` names (any case, spaces for underscores), or None."""
    wanted = _key(raw)
    return next((v for v in allowed if v == wanted), None)


def did_you_mean(raw: str, allowed: Iterable[str]) -> str | None:
    """The allowed value closest to a mistyped one (`herion` -> `heroin`), if one is close."""
    options = list(allowed)
    found = difflib.get_close_matches(_key(raw), options, n=1, cutoff=0.6)
    return found[0] if found else None


def not_in_vocabulary(raw: str, allowed: Iterable[str], what: str = "value") -> str:
    """The message for a category outside the vocabulary, with a did-you-mean when one is close."""
    options = list(allowed)
    shown = raw.strip()[:40]
    guess = did_you_mean(raw, options)
    if guess:
        return f"“{shown}” is not a {what} divert knows. Did you mean {words(guess)}?"
    return (f"“{shown}” is not a {what} divert knows; choose one of: "
            f"{', '.join(words(v) for v in options)}.")


def _range(f: FieldSpec) -> str:
    kind = "a whole number" if f.whole else "a number"
    lo = None if f.minimum is None else f"{f.minimum:g}"
    hi = None if f.maximum is None else f"{f.maximum:g}"
    if lo is not None and hi is not None:
        return f"{kind} from {lo} to {hi}"
    if lo is not None:
        return f"{kind}, {lo} or more"
    return kind


def check_number(f: FieldSpec, raw: str) -> str | None:
    """Why `raw` is not an allowed value of the number field, or None."""
    try:
        value = float(raw)
    except ValueError:
        return f"Enter {_range(f)} (you entered “{raw[:40]}”)."
    if not math.isfinite(value) or abs(value) > MAX_NUMBER:
        return f"Enter {_range(f)}; {raw[:20]} is too large."
    if f.whole and not value.is_integer():
        return f"Enter {_range(f)}; {raw[:20]} is not a whole number."
    if (f.minimum is not None and value < f.minimum) or (f.maximum is not None
                                                         and value > f.maximum):
        return f"Enter {_range(f)}; {raw[:20]} is out of range."
    return None


def check_date(raw: str, earliest: dt.date = EARLIEST, latest: dt.date = LATEST) -> str | None:
    """Why `raw` is not a date in range, or None."""
    try:
        day = dt.date.fromisoformat(raw.strip())
    except ValueError:
        return f"Enter a date as year-month-day, e.g. 2024-05-31 (you entered “{raw[:20]}”)."
    if not earliest <= day <= latest:
        return f"Enter a date from {earliest} to {latest}."
    return None


def check_field(f: FieldSpec, raw: str, chosen: list[str]) -> str | None:
    """Why the field's answer is not allowed, in plain words, or None (an empty answer is
    unknown, never an error)."""
    if f.type == "set":
        bad = [v for v in chosen if v not in f.values]
        return not_in_vocabulary(bad[0], f.values) if bad else None
    raw = raw.strip()
    if not raw:
        return None
    if f.type == "number":
        return check_number(f, raw)
    if f.type == "date":
        return check_date(raw)
    if f.type == "bool":
        return None if raw in ("yes", "no") else "Choose yes, no or unknown."
    if choice(raw, f.values) is None:
        return not_in_vocabulary(raw, f.values, "substance" if f.name.endswith("substance")
                                 else "value")
    return None


def check_fields(fields: Iterable[FieldSpec], values: Mapping[str, str],
                 sets: Mapping[str, list[str]]) -> dict[str, str]:
    """Every field's error, by field name (empty: the form is fine as far as fields go)."""
    errors: dict[str, str] = {}
    for f in fields:
        problem = check_field(f, str(values.get(f.name, "")), list(sets.get(f.name) or []))
        if problem:
            errors[f.name] = problem
    return errors
