"""Every supported language has every message of every domain translated, with its placeholders.

The messages are extracted from the sources as CI runs (Babel's extractors, divert.i18n.extraction),
so a new English string without its translations fails here."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from divert.i18n import DEFAULT, DOMAINS, LOCALES
from divert.i18n.catalog import po_path
from divert.i18n.extraction import PACKS, POLICIES, extract

PLACEHOLDER = re.compile(r"%\([a-z_0-9]+\)[sdfr]|\{[a-z_0-9]*\}")
OTHER = [locale for locale in LOCALES if locale != DEFAULT]


def _ids(message_id: str | tuple[str, ...]) -> tuple[str, ...]:
    return message_id if isinstance(message_id, tuple) else (message_id,)


@pytest.fixture(scope="module", params=DOMAINS)
def template(request: pytest.FixtureRequest) -> tuple[str, dict[tuple[str | None, str], object]]:
    catalog = extract(request.param)
    return request.param, {(m.context, _ids(m.id)[0]): m for m in catalog if m.id}


@pytest.mark.parametrize("locale", OTHER)
def test_every_message_is_translated(template: tuple[str, dict[tuple[str | None, str], object]],
                                     locale: str) -> None:
    domain, messages = template
    path = po_path(locale, domain)
    if not messages:
        return
    assert path.exists(), f"{path}: missing; run scripts/update_messages.py {domain}"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=domain)
    translated = {(m.context, _ids(m.id)[0]): m for m in catalog
                  if m.id and all(_ids(m.string)) and not m.fuzzy}
    missing = [msgid for key, msgid in ((k, k[1]) for k in messages) if key not in translated]
    assert missing == [], f"{path}: {len(missing)} untranslated, first: {missing[:5]}"
    for key, message in translated.items():
        if key not in messages:
            continue
        for source, target in zip(_ids(message.id), _ids(message.string), strict=False):
            assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(target)), (
                f"{path}: placeholders differ in {source!r} -> {target!r}")


def test_every_pack_is_in_the_law_catalogue() -> None:
    """A new pack's labels are extracted too: PACKS lists every pack of policies/, in order."""
    packs = sorted(path.parent.name for path in POLICIES.glob("*/pack.yaml"))
    assert list(PACKS) == packs, f"extraction.PACKS {PACKS} against policies/ {packs}"
