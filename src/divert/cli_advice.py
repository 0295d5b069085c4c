"""`divert assess` on the terminal: the advice as tables, or on one screen (--brief), and each
open measure's projected outcomes, in the language of the command's messages. The frame's words
come from the cli catalogue, the law's (measure labels, reasons, notes, stage and kind names) from
the law catalogue (divert.advice.pathways.localized, divert.law.words); ids, codes and citations
are shown as they are."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from divert.cli_tables import Words
from divert.i18n import DEFAULT, N_

#: the triage's findings as words, each with what it rates (a level agrees with its noun in many
#: languages: "risco baixo", "necessidade baixa"); None: not known; a quadrant (HR/LN) is a code
RISK_WORDS = {"low": N_("risk low"), "high": N_("risk high"), None: N_("risk unknown")}
NEED_WORDS = {"low": N_("need low"), "high": N_("need high"), None: N_("need unknown")}
DISORDER_WORDS = {"none": N_("disorder none"), "mild": N_("disorder mild"),
                  "moderate": N_("disorder moderate"), "severe": N_("disorder severe"),
                  None: N_("disorder unknown")}
#: an outcome's name in the projection's headings, and its short name in the difference column
OUTCOME_WORDS = {"rearrest": N_("rearrested"), "prison_months": N_("months in custody"),
                 "overdose_death": N_("overdose death"), "cost": N_("public cost")}
OUTCOME_SHORT = {"rearrest": N_("rearrest"), "prison_months": N_("custody"),
                 "overdose_death": N_("overdose"), "cost": N_("cost")}


def _finding(words: dict[str | None, str], value: str | None, w: Words) -> str:
    """A triage finding in words ("risk low"), or its code where it has none."""
    return w._(words[value]) if value in words else str(value)


def _stage(stage: str, w: Words, code: bool = False) -> str:
    """A stage as the advice names it: in English its code (`code`) or the code in words ("post
    sentence"), in another language the law catalogue's name."""
    from divert.law.words import stage_name

    if w.t.locale == DEFAULT:
        return stage if code else stage.replace("_", " ")
    return stage_name(stage, w.t.locale)


def _kind(kind: str, w: Words) -> str:
    from divert.law.words import KIND_LABELS, word

    return word(KIND_LABELS, kind, w.t.locale)


def _shown(advice: Any, w: Words) -> Any:
    """The advice written in the language of `w` (the same advice in English)."""
    from divert.advice.pathways import localized

    return advice if w.t.locale == DEFAULT else localized(advice, w.t.locale)


def reasons(triage: Any, w: Words) -> list[str]:
    """The triage's reasons in the language of `w` (the law catalogue's, as the advice's other
    reasons), as they are where it has no messages."""
    from divert.advice.wording import text

    said = getattr(triage, "reason_messages", None)
    if w.t.locale == DEFAULT or not said:
        return list(triage.reasons)
    return [text(m, w.t.locale) for m in said]


def conventional_path(ref: Mapping[str, Any], w: Words) -> str:
    """The conventional path of a projection: its measures (ids), or in words that the case
    ends or the sentence goes on."""
    if w.t.locale == DEFAULT:
        return str(ref["path"])
    if ref["conventional"] and ref["stamp"]["stage"] != "post_sentence":
        return w.t.list_separator().join(ref["conventional"])
    return w.t.gettext(ref["path"])


def _note(english: list[str], said: list[str], k: int) -> str:
    """Note `k` of the English notes in the language shown: there the applicable-law note, one
    in English, is one note per message, so the others move down."""
    extra = len(said) - len(english)
    if extra <= 0:
        return said[k] if len(said) == len(english) else english[k]
    return " ".join(said[:extra + 1]) if k == 0 else said[k + extra]


def _wrapped(head: str, items: list[str], width: int, w: Words, most: int = 2) -> list[str]:
    """`head` and the items joined by commas, wrapped at `width` between items (never inside
    one), at most `most` lines, the last ending "+N more" when some do not fit."""
    lines = [head.rstrip()]
    for k, item in enumerate(items):
        left = len(items) - k - 1
        piece = item + ("," if left else "")
        more = " " + w._("+%(count)s more", count=w.count(left))
        reserve = len(more) if left and len(lines) == most else 0
        if len(lines[-1]) + 1 + len(piece) + reserve <= width:
            lines[-1] += " " + piece
        elif len(lines) < most:
            lines.append("    " + piece)
        else:
            lines[-1] = (lines[-1].rstrip(",") + " "
                         + w._("+%(count)s more", count=w.count(len(items) - k)))
            break
    return lines


def brief_lines(advice: Any, w: Words, width: int = 80) -> list[str]:
    """The advice on one screen (about 20 lines of at most `width` columns): the triage, then per
    stage what is recommended, the main reason and law, what else is open and what is unknown."""

    def cut(text: str) -> str:
        indent = text[:len(text) - len(text.lstrip())]
        return indent + textwrap.shorten(text, width - len(indent), placeholder=" ...",
                                         break_long_words=False)

    t = advice.triage
    lines = [cut(w._("%(place)s on %(date)s: %(risk)s, %(need)s -> %(quadrant)s",
                     place=advice.jurisdiction, date=w.t.digits(advice.date.isoformat()),
                     risk=_finding(RISK_WORDS, t.risk, w), need=_finding(NEED_WORDS, t.need, w),
                     quadrant=t.quadrant or w._("quadrant unknown")))]
    shown = _shown(advice, w)
    for s, said in zip(advice.stages, shown.stages, strict=True):
        rec = next((m for m in s.measures if m.id == s.recommended), None)
        stage = _stage(s.stage, w)
        if rec is None:
            lines.append(cut(w._("%(stage)s: nothing recommended", stage=stage)))
            first = next((k for k, n in enumerate(s.notes) if n.startswith("No alternative")),
                         0 if s.notes else None)
            if first is not None:
                lines.append(cut(f"  {_note(s.notes, said.notes, first)}"))
        else:
            done = (w._("%(stage)s: recommended %(measure)s, with consent", stage=stage,
                        measure=rec.id) if rec.consent_required
                    else w._("%(stage)s: recommended %(measure)s", stage=stage, measure=rec.id))
            lines.append(cut(done))
            if rec.citations:
                lines.append(cut("  " + w._("law: %(citation)s", citation=rec.citations[0])))
        others = [m.id + (f" ({_kind(m.kind, w)})" if m.kind == "coercive" else "")
                  for m in s.measures if m.status == "eligible" and m.id != s.recommended]
        if others:
            lines += _wrapped("  " + w._("also open:") + " ", others, width, w)
        unknown = [m.id for m in s.measures if m.status == "undetermined"]
        if unknown:
            lines += _wrapped("  " + w._("unknown (facts missing):") + " ", unknown, width, w)
    lines.append(cut(w._("Reasons and the law in full: the same command without --brief.")))
    return lines


def print_advice(out: Console, advice: Any, w: Words, currency: str = "") -> None:
    """The advice as the terminal shows it: the triage and its reasons, then a table per stage
    (each measure, whether it is open, consent, why and the law), its notes and projection."""
    t = advice.triage
    shown = _shown(advice, w)
    place, risk, need = (f"[bold]{text}[/bold]" for text in (
        advice.jurisdiction, _finding(RISK_WORDS, t.risk, w), _finding(NEED_WORDS, t.need, w)))
    out.print(w._("%(place)s on %(date)s   triage: %(risk)s, %(need)s -> %(quadrant)s "
                  "(%(disorder)s)", place=place, date=w.t.digits(advice.date.isoformat()),
                  risk=risk, need=need, quadrant=t.quadrant or w._("quadrant unknown"),
                  disorder=_finding(DISORDER_WORDS, t.disorder, w)))
    for reason in reasons(t, w):
        out.print(f"  - {escape(reason)}")
    yes, no, unknown = w._("yes"), w._("no"), w._("unknown")
    marks = {"eligible": f"[green]{yes}[/green]", "not_eligible": f"[red]{no}[/red]",
             "undetermined": f"[yellow]{unknown}[/yellow]"}
    recommended = w._("(recommended)")
    for s in shown.stages:
        stage = _stage(s.stage, w, code=True)
        title = (w._("%(stage)s: recommended %(measure)s", stage=stage, measure=s.recommended)
                 if s.recommended else w._("%(stage)s: recommended none", stage=stage))
        table = Table(title=title, title_justify="left", show_lines=True)
        table.add_column(w._("measure"), ratio=2, overflow="fold")
        table.add_column(w._("open?"), ratio=1, overflow="fold")
        table.add_column(w._("consent"), ratio=1)
        table.add_column(w._("why"), ratio=5, overflow="fold")
        table.add_column(w._("law"), ratio=2, overflow="fold")
        for m in s.measures:
            mark = marks[m.status]
            if m.id == s.recommended:
                mark += f" [bold]{recommended}[/bold]"
            table.add_row(escape(f"{m.id}\n{m.label}\n({_kind(m.kind, w)})"), mark,
                          w._("required") if m.consent_required else "-",
                          escape("\n".join(m.reasons)), escape("\n".join(m.citations)))
        out.print(table)
        for note in s.notes:
            out.print("  " + w._("note: %(note)s", note=escape(note)))
        if s.projection_reference is not None:
            print_projection(out, s, w, currency)


def show(outcome: str, summary: Mapping[str, Any], w: Words, currency: str = "") -> str:
    """An outcome as text: the value and its 95% interval and, for a mean, the range of the
    middle 90% of the copies (how much one person's outcome may vary)."""
    v, lo, hi = summary["value"], summary["low"], summary["high"]
    n = w.number
    if outcome in ("rearrest", "overdose_death"):
        return f"{w.percent(v)} ({n(100 * lo, 1)}-{n(100 * hi, 1)})"
    if outcome == "cost":
        return ((f"{currency} " if currency else "") + f"{w.count(v)} ({w.count(lo)}-"
                f"{w.count(hi)}); " + w._("90%% of copies %(low)s-%(high)s",
                                           low=w.count(summary["p5"]),
                                           high=w.count(summary["p95"])))
    return (f"{n(v, 1)} ({n(lo, 1)}-{n(hi, 1)}); "
            + w._("90%% of copies %(low)s-%(high)s", low=w.count(summary["p5"]),
                  high=w.count(summary["p95"])))


def show_difference(outcome: str, d: Mapping[str, Any], w: Words) -> str:
    """A difference from the conventional path as text, or 'not resolved' when its 95%
    interval includes zero."""
    if not d["resolved"]:
        return w._("not resolved")
    v = d["value"]
    if outcome in ("rearrest", "overdose_death"):
        return w._("%(change)s pts", change=w.number(100 * v, 1, signed=True))
    if outcome == "cost":
        return w.count(v, signed=True)
    return w._("%(change)s mo", change=w.number(v, 1, signed=True))


def print_projection(out: Console, s: Any, w: Words, currency: str) -> None:
    """The stage's projected outcomes: the conventional path, then each open measure."""
    from divert.simulation.projection import OUTCOMES, horizon_label

    ref = s.projection_reference
    st = ref["stamp"]
    year = horizon_label(ref)
    years = int(year[:-1])
    table = Table(title=w.ngettext("%(stage)s: projected outcomes for this person over %(years)s year "
                             "(%(copies)s simulated copies; a decision aid, not the decision)",
                             "%(stage)s: projected outcomes for this person over %(years)s years "
                             "(%(copies)s simulated copies; a decision aid, not the decision)",
                             years, stage=_stage(s.stage, w, code=True), years=w.count(years),
                             copies=w.t.digits(str(st["copies"]))),
                  title_justify="left", show_lines=True)
    table.add_column(w._("measure"), ratio=2, overflow="fold")
    for o in OUTCOMES:
        table.add_column(w._("%(outcome)s (95%% interval)", outcome=w._(OUTCOME_WORDS[o])),
                         ratio=2, overflow="fold")
    table.add_column(w._("vs conventional path"), ratio=3, overflow="fold")
    table.add_row(escape(w._("conventional path: %(path)s", path=conventional_path(ref, w))),
                  *(show(o, ref["outcomes"][o][year], w, currency) for o in OUTCOMES), "-")
    for m in s.measures:
        p = m.projection
        if p is None:
            continue
        if not p["projected"] or not p["simulated_effect"]:
            note = (w.t.gettext(p["note"]) if not p["projected"] else
                    w._("no simulated effect in the pack: projected as the conventional path"))
            table.add_row(escape(m.id), escape(note), "", "", "", "")
            continue
        diff = p["versus_conventional"]
        versus = (w._("this is the conventional path") if p["conventional_path"] else
                  "; ".join(f"{w._(OUTCOME_SHORT[o])} {show_difference(o, diff[o][year], w)}"
                            for o in OUTCOMES))
        table.add_row(escape(m.id), *(show(o, p["outcomes"][o][year], w, currency)
                                      for o in OUTCOMES), escape(versus))
    out.print(table)
    out.print("  " + w._("differences are paired copy by copy (common random numbers); 'not "
                         "resolved': the 95%% interval includes zero"))
    drawn = w.t.list_separator().join(ref["drawn"]) or w._("none")
    out.print("  " + w._("projection: the pack's practice at central values; facts the case "
                         "does not give are drawn from the pack's population (%(drawn)s); stamp: "
                         "pack %(pack)s %(hash)s, seed %(seed)s, %(copies)s copies, %(months)s "
                         "months", drawn=escape(drawn), pack=st["pack"],
                         hash=st["pack_hash"][:12], seed=w.t.digits(str(st["seed"])),
                         copies=w.t.digits(str(st["copies"])),
                         months=w.t.digits(str(st["horizon_months"]))))
