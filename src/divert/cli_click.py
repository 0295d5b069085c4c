"""click's and typer's own messages (a usage error: no such option, a missing argument, an invalid
value) in the language of divert's messages.

click and typer write them with gettext's `_` and `ngettext`, names they import into their
modules; while a command runs in another language those names are pointed at the cli catalogue,
which holds click's messages as click writes them (below). English is click's own text, untouched:
nothing is pointed anywhere."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from divert.i18n import DEFAULT, N_, Translator

#: the modules whose `_` and `ngettext` give click's and typer's messages
MODULES = ("click.core", "click.exceptions", "click.parser", "click.types", "click.formatting",
           "click.decorators", "typer.core")


def ngettext(singular: str, plural: str, n: int = 2) -> tuple[str, str]:
    """Marks one of click's messages with a plural for extraction (Babel's keyword ngettext)."""
    return singular, plural


#: click's messages a divert command can give, as click 8 writes them ({name!r}: the option as
#: typed, {param_hint}: the option's or argument's name, both kept as they are)
MESSAGES = (
    N_("No such option {name!r}."), N_("No such command {name!r}."), N_("Missing command."),
    N_("Missing argument"), N_("Missing option"), N_("Missing parameter"),
    N_("Missing parameter: {param_name}"),
    N_("Invalid value for {param_hint}: {message}"), N_("Invalid value: {message}"),
    N_("Option {name!r} does not take a value."),
    # click's number types named in the sentence ({number_type} is click's English name)
    N_("{value!r} is not a valid integer."), N_("{value!r} is not a valid float."),
    N_("{value!r} is not a valid boolean."), N_("{value} is not in the range {range}."),
    N_("Usage:"), N_("Try '{command} {option}' for help."), N_("Error: {message}"),
    N_("Aborted!"),
)
PLURALS = (
    ngettext("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"),
    ngettext("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."),
    ngettext("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"),
)

#: the placeholders whose value click fills with one of its own English words: the sentence
#: with that word in it is looked up first ("{value!r} is not a valid integer.")
WORDS = ("number_type", "param_type")


class _Said(str):
    """A click message translated, with what click formats it with: a sentence that names one
    of click's own words is looked up with the word in it."""

    msgid: str
    t: Translator

    def format(self, *args: Any, **values: Any) -> str:
        for key in WORDS:
            if isinstance(values.get(key), str):
                whole = self.msgid.replace("{" + key + "}", values[key])
                said = self.t.gettext(whole)
                if said != whole:
                    return said.format(*args, **values)
        return str.format(self, *args, **values)


def _said(text: str, msgid: str, t: Translator) -> _Said:
    said = _Said(text)
    said.msgid, said.t = msgid, t
    return said


@contextmanager
def speaking(t: Translator) -> Iterator[None]:
    """click's and typer's messages in `t`'s language for the body of a `with` block (English:
    click's own, nothing changed); what was there before is put back after it."""
    if t.locale == DEFAULT:
        yield
        return

    def gettext(message: str) -> str:
        return _said(t.gettext(message), message, t)

    def plural(singular: str, plural: str, n: int) -> str:
        return _said(t.ngettext(singular, plural, n), singular if n == 1 else plural, t)

    saved: list[tuple[Any, str, Any]] = []
    for name in MODULES:
        module = importlib.import_module(name)
        for attr, replacement in (("_", gettext), ("ngettext", plural)):
            if hasattr(module, attr):
                saved.append((module, attr, getattr(module, attr)))
                setattr(module, attr, replacement)
    try:
        yield
    finally:
        for module, attr, before in reversed(saved):
            setattr(module, attr, before)
