"""Extract every domain's messages and merge them into each language's .po file (new messages get
an empty translation, gone ones are dropped). Run after changing marked strings:
`.venv/bin/python scripts/update_messages.py [DOMAIN ...]`."""

from __future__ import annotations

import sys

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from divert.i18n import DEFAULT, DOMAINS, LOCALES
from divert.i18n.catalog import po_path
from divert.i18n.extraction import extract


def main(domains: list[str]) -> None:
    for domain in domains or list(DOMAINS):
        template = extract(domain)
        for locale in LOCALES:
            if locale == DEFAULT:
                continue
            path = po_path(locale, domain)
            if path.exists():
                with path.open("rb") as handle:
                    catalog = read_po(handle, locale=locale, domain=domain)
            else:
                catalog = Catalog(locale=locale, domain=domain, project="divert", charset="utf-8")
            catalog.update(template, no_fuzzy_matching=True)
            catalog.obsolete.clear()
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as handle:
                write_po(handle, catalog, width=100, omit_header=False, sort_output=False)
            missing = sum(1 for m in catalog if m.id and not m.string)
            print(f"{path.relative_to(path.parents[3])}: {len(template)} messages, {missing} untranslated")


if __name__ == "__main__":
    main(sys.argv[1:])
