"""The policy book: a pack rendered as a readable HTML document, each rule beside its law."""

from __future__ import annotations

from datetime import date

from jinja2 import Environment, PackageLoader, select_autoescape

from divert import __version__
from divert.policy import Policy
from divert.vocabulary import STAGES

_ENV = Environment(loader=PackageLoader("divert", "templates"),
                   autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def render_book(pack: Policy, on: date | None = None) -> str:
    """Self-contained HTML (no network) of the pack: parameters, rules by stage, examples, and
    the practice values the simulation uses on `on` (default today), each with its source."""
    from divert.practice import DEFAULTS, resolve

    on = on or date.today()
    practice = [(DEFAULTS[name], value) for name, value in resolve(pack, on).items()]
    return _ENV.get_template("book.html").render(
        pack=pack, stages=STAGES, version=__version__, counts=pack.provenance_counts(),
        practice=practice, practice_date=on)
