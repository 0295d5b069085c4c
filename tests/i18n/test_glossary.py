"""The translations keep to the glossaries of legal terms (docs/glossary/<lang>.md): every catalogue
message whose English text uses a glossary term has a translation that uses that language's term, and
every language's glossary lists the same English terms."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from babel.messages.pofile import read_po

from divert.i18n import DEFAULT, DOMAINS, LOCALES
from divert.i18n.catalog import po_path
from divert.i18n.glossary import GLOSSARIES, Entry, GlossaryError, load, parse

OTHER = [locale for locale in LOCALES if locale != DEFAULT]
#: (domain, English forms, translated forms) of one catalogue message
Message = tuple[str, tuple[str, ...], tuple[str, ...]]


def _glossary(locale: str) -> list[Entry]:
    entries = load(locale)
    assert entries is not None, f"{GLOSSARIES / locale}.md: missing; every language has a glossary"
    return entries


def _messages(locale: str) -> list[Message]:
    found: list[Message] = []
    for domain in DOMAINS:
        with po_path(locale, domain).open("rb") as handle:
            catalog = read_po(handle, locale=locale, domain=domain)
        for m in catalog:
            if m.id:
                ids = m.id if isinstance(m.id, tuple) else (m.id,)
                strings = m.string if isinstance(m.string, tuple) else (m.string,)
                found.append((domain, ids, tuple(s for s in strings if s)))
    return found


def mismatches(entries: Iterable[Entry], messages: Iterable[Message]) -> list[str]:
    """Each message using a glossary term whose translation has none of the term's forms."""
    messages = list(messages)
    return [f"{entry.english!r} -> {entry.forms[0]!r} not in {domain}: {strings[0]!r} ({ids[0]!r})"
            for entry in entries for domain, ids, strings in messages
            if any(entry.used_in(i) for i in ids) and not all(entry.kept_in(s) for s in strings)]


@pytest.mark.parametrize("locale", OTHER)
def test_translations_use_the_glossary_terms(locale: str) -> None:
    found = mismatches(_glossary(locale), _messages(locale))
    assert found == [], f"{len(found)} translations miss the glossary term:\n" + "\n".join(found)


def test_every_glossary_lists_the_same_english_terms() -> None:
    terms = {locale: [entry.english for entry in _glossary(locale)] for locale in OTHER}
    for locale, listed in terms.items():
        assert len(listed) == len(set(listed)), f"{locale}.md: an English term listed twice"
    reference = set(terms[OTHER[0]])
    for locale, listed in terms.items():
        assert set(listed) == reference, (
            f"{locale}.md: missing {sorted(reference - set(listed))}, "
            f"extra {sorted(set(listed) - reference)} (against {OTHER[0]}.md)")
    assert len(reference) >= 40


def test_every_glossary_term_is_used_by_a_catalogue_message() -> None:
    messages = _messages(OTHER[0])
    unused = [entry.english for entry in _glossary(OTHER[0])
              if not any(entry.used_in(i) for _, ids, _ in messages for i in ids)]
    assert unused == [], f"glossary terms no English message uses: {unused}"


@pytest.mark.parametrize(("term", "english", "other", "report"), [
    ("fine", "Fine", "Coima", "'fine' -> 'multa' not in law: 'Coima' ('Fine')"),
    # a plural message is checked too
    ("diversion", "Diversions", "Desvios do processo penal",
     "'diversion' -> 'diversão' not in reports: 'Desvios do processo penal' ('Diversions')"),
])
def test_a_translation_changed_to_another_term_is_found(term: str, english: str, other: str,
                                                        report: str) -> None:
    """The check is not vacuous: a real message of the catalogue, translated with another word for
    the term, is reported; kept as it is, it is not."""
    entry = next(e for e in _glossary("pt") if e.english == term)
    message = next(m for m in _messages("pt") if m[1] == (english,))
    assert mismatches([entry], [message]) == []
    changed = (message[0], message[1], (other,))
    assert mismatches([entry], [changed]) == [report]


def test_terms_match_whole_words_outside_placeholders() -> None:
    entry = Entry("drug court", ("tribunal de tratamento da toxicodependência",), "")
    assert entry.used_in("Adult Drug\n court (typical state programme)")
    assert not entry.used_in("the drug courtyard")
    assert not entry.used_in('<a title="drug court">x</a>')
    assert not Entry("prison", ("prisão",), "").used_in("%(prison)s months")
    assert not Entry("fine", ("multa",), "").used_in("define, fine-tune")


def test_the_last_word_of_a_term_matches_in_the_plural() -> None:
    entry = Entry("drug court", ("tribunal de tratamento da toxicodependência",), "")
    assert entry.used_in("the drug courts serve best")
    assert Entry("offence", ("infração",), "").used_in("theft and other offences")
    assert Entry("corporal punishment", ("castigo corporal",), "").used_in(
        "Corporal punishments a year")
    assert Entry("whipping", ("chicotadas",), "").used_in("whippings")
    assert Entry("arrest", ("detenção",), "").used_in("Arrests")
    assert not Entry("drug", ("droga",), "").used_in("drugstore, drugged")
    assert not Entry("court", ("tribunal",), "").used_in("courtesy, courts-martial")


def test_forms_match_any_case_and_persian_half_spaces() -> None:
    entry = Entry("rehabilitation", ("بازتوانی",), "")
    assert entry.kept_in("درمان و باز\u200cتوانی")
    assert Entry("fine", ("multa", "coima"), "").kept_in("MULTA (21 U.S.C. 844(a))")
    assert not Entry("fine", ("multa",), "").kept_in("Coima")


def test_parse_reads_the_table_and_its_alternative_forms() -> None:
    text = ("# Glossary\n\nIntro | not a row\n\n| English | Português | Note |\n|---|---|---|\n"
            "| possession | detenção / detida | DL 15/93 art. 40 |\n| fine | multa |  |\n")
    assert parse(text) == [Entry("possession", ("detenção", "detida"), "DL 15/93 art. 40"),
                           Entry("fine", ("multa",), "")]


def test_a_bad_row_names_the_file_and_the_row() -> None:
    with pytest.raises(GlossaryError, match=r"pt\.md: table row 4: expected 'English \| term \| note'"):
        parse("| English | pt | Note |\n|---|---|---|\n| fine | multa | x |\n| fine | multa |\n",
              "pt.md")
    with pytest.raises(GlossaryError, match="pt.md: no table rows"):
        parse("# nothing\n", "pt.md")
