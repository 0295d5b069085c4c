"""Which source files hold each domain's messages, and how to pull the messages out (Babel's
extractors; Jinja2's for templates). `scripts/update_messages.py` and the catalogue tests use it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir

SRC = Path(__file__).resolve().parents[1]  # src/divert
JINJA = "jinja2.ext:babel_extract"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "N_": None}

#: a domain's (glob relative to src/divert, extraction method): Python and Jinja2 templates
DOMAIN_SOURCES: dict[str, tuple[tuple[str, str], ...]] = {
    "web": (("web/**.py", "python"), ("web/templates/**.html", JINJA)),
    "reports": (("reports/**.py", "python"), ("reports/templates/**.html", JINJA),
                ("studies/**.py", "python")),
    "cli": (("cli.py", "python"), ("cli_help.py", "python"), ("cli_json.py", "python"),
            ("cli_tables.py", "python"), ("cli_advice.py", "python"),
            ("cli_click.py", "python"),
            ("registry/cli.py", "python"), ("web/cli.py", "python"),
            # the projection's notes: the command line shows them
            ("simulation/projection.py", "python")),
    "law": (("law/**.py", "python"), ("advice/**.py", "python")),
}

def catalogue_labels() -> Iterator[tuple[str, str, int]]:
    """The measure labels of the law catalogue (law/catalogue.yaml), each with its line. Read as
    text here, not through divert.law, so the bottom layer imports nothing above it."""
    from ruamel.yaml import YAML

    path = SRC / "law" / "catalogue.yaml"
    data = YAML().load(path.read_text(encoding="utf-8"))
    for stage in ("police", "prosecution", "court", "post_sentence"):
        for item in data.get(stage) or []:
            yield str(item["label"]), "law/catalogue.yaml", item.lc.key("label")[0] + 1


POLICIES = SRC.parents[1] / "policies"  # the packs, beside src/ in the source tree
#: the packs whose labels are in the law catalogue: every pack of policies/, sorted (issue 19)
PACKS = ("belgium", "cote_divoire", "iran", "kenya", "malaysia", "model", "portugal", "usa")
#: the pack files whose `label`s the policy book and the advice show (rules, conditions, bars)
PACK_FILES = ("pack.yaml", "police.yaml", "prosecution.yaml", "court.yaml", "post_sentence.yaml")


def _labels(node: Any, path: str) -> Iterator[tuple[str, str, int]]:
    """Every `label` of a YAML tree (measures, their conditions and exclusions, bars), with its
    line, in the order written."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "label" and isinstance(value, str):
                yield " ".join(value.split()), path, node.lc.key("label")[0] + 1  # type: ignore[attr-defined]
            else:
                yield from _labels(value, path)
    elif isinstance(node, list):
        for item in node:
            yield from _labels(item, path)


def pack_labels() -> Iterator[tuple[str, str, int]]:
    """The labels of every pack's rules and conditions (policies/<code>/*.yaml) and the titles
    of its scenarios (the levers a brief names): the law catalogue translates them, as it does
    the measure labels. Read as text, as `catalogue_labels` is; none when the packs are absent
    (an installed package)."""
    from ruamel.yaml import YAML

    if not POLICIES.is_dir():
        return
    yaml = YAML()
    for pack in (POLICIES / code for code in PACKS if (POLICIES / code / "pack.yaml").is_file()):
        for name in PACK_FILES:
            path = pack / name
            if path.is_file():
                yield from _labels(yaml.load(path.read_text(encoding="utf-8")),
                                   f"policies/{pack.name}/{name}")
        for path in sorted((pack / "scenarios").glob("*.yaml")):
            data = yaml.load(path.read_text(encoding="utf-8")) or {}
            if isinstance(data.get("title"), str):
                yield (" ".join(data["title"].split()), f"policies/{pack.name}/scenarios/{path.name}",
                       data.lc.key("title")[0] + 1)  # type: ignore[union-attr]


def law_data() -> Iterator[tuple[str, str, int]]:
    """The law catalogue's data messages: the measure catalogue's labels, then the packs'."""
    yield from catalogue_labels()
    yield from pack_labels()


#: extra extractors a domain adds for data files (e.g. labels in catalogue.yaml): name -> messages
EXTRA: dict[str, Callable[[], Iterable[tuple[str, str, int]]]] = {"law": law_data}


def _options() -> dict[str, dict[str, Any]]:
    # as the web and the reports render them (newstyle gettext): a literal % is %% in every
    # message, {% trans %} blocks without variables included
    jinja = {"extensions": "jinja2.ext.i18n", "trimmed": "true", "newstyle_gettext": "true"}
    return {"web/templates/**.html": dict(jinja), "reports/templates/**.html": dict(jinja)}


def extract(domain: str) -> Catalog:
    """The domain's template catalogue: every message its sources mark for translation."""
    catalog = Catalog(domain=domain, project="divert", charset="utf-8")
    for filename, lineno, message, comments, context in _messages(domain):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    for extra_domain, producer in EXTRA.items():
        if extra_domain == domain:
            for message, filename, lineno in producer():
                catalog.add(message, None, [(filename, lineno)])
    return catalog


def _messages(domain: str) -> Iterator[tuple[str, int, Any, list[str], str | None]]:
    method_map = list(DOMAIN_SOURCES[domain])
    yield from extract_from_dir(
        SRC, method_map=method_map, options_map=_options(), keywords=KEYWORDS,
        comment_tags=("TRANSLATORS:",), strip_comment_tags=True,
    )
