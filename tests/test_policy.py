"""Loading packs: schema errors name file, line and field; dated parameters; precedence."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from divert.errors import PackError
from divert.law.policy import iter_packs, load_pack, pack_dirs
from divert.law.rules import encode_batch


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_fixture_pack_loads(testland_dir: Path) -> None:
    pack = load_pack(testland_dir)
    assert pack.code == "testland"
    assert [r.id for r in pack.rules["police"]] == [
        "warning", "referral_to_health_services", "compulsory_treatment", "arrest_and_charge"]
    assert len(pack.hash) == 64
    counts = pack.provenance_counts()
    assert counts["police"] == {"verified": 3, "unverified": 1}
    assert counts["parameters"] == {"verified": 1, "unverified": 1}


def test_dated_parameters_pick_the_law_of_the_day(testland_dir: Path) -> None:
    pack = load_pack(testland_dir)
    p = pack.parameters["threshold_g"]
    assert p.at(date(1999, 12, 31)) is None
    assert p.at(date(2000, 1, 1))["heroin"] == 1.0
    assert p.at(date(2009, 12, 31))["heroin"] == 1.0
    assert p.at(date(2010, 1, 1))["heroin"] == 2.0
    police_2005 = [r.id for r in pack.rules_in_force("police", date(2005, 1, 1))]
    police_2012 = [r.id for r in pack.rules_in_force("police", date(2012, 1, 1))]
    assert "referral_to_health_services" not in police_2005
    assert "referral_to_health_services" in police_2012


def test_precedence_removes_the_superseded_measure(testland_dir: Path) -> None:
    pack = load_pack(testland_dir)
    small = {"offence.type": "possession", "offence.substance": "heroin", "offence.quantity_g": 1}
    facts = [{**small, "consent": True},
             {"offence.type": "supply", "offence.substance": "heroin", "offence.quantity_g": 1,
              "consent": True},
             {"offence.type": "possession", "offence.substance": "heroin", "consent": True},
             {**small, "consent": False},
             small]
    out = pack.evaluate("police", date(2012, 1, 1), encode_batch(facts), 5)
    assert out["referral_to_health_services"].tolist() == [2, 0, 1, 2, 2]
    # arrest is open without conditions, except where the referral takes precedence; the referral
    # needs consent, so it takes precedence only for a person who consents: a person who declines
    # can be arrested, and without a recorded answer arrest is undetermined
    assert out["arrest_and_charge"].tolist() == [0, 2, 1, 2, 1]
    assert out["arrest_and_charge"].dtype == np.int8


@pytest.mark.parametrize(("file", "old", "new", "where", "message"), [
    ("police.yaml", "  - id: warning", "  - id: warnings", "police.yaml:2",
     "measures[0].id: 'warnings' is not a catalogue measure"),
    ("police.yaml", "offence.type in [\"use\", \"possession\"]\n      - test",
     "offence.kind in [\"use\", \"possession\"]\n      - test", "police.yaml:4",
     "measures[0].when[0]: unknown name 'offence.kind'"),
    ("police.yaml", 'when: [screening.disorder == "severe"]',
     'when: [screening.disorder == "extreme"]', "police.yaml:21",
     "'extreme' is not a value of screening.disorder"),
    ("court.yaml", "    consent_required: true\n    legal_basis: {citation: Testland Courts Act s.4",
     "    consent_required: false\n    legal_basis: {citation: Testland Courts Act s.4",
     "court.yaml:8", "treatment_order places a person in treatment"),
    ("prosecution.yaml", "  - id: prosecution", "  - id: imprisonment", "prosecution.yaml:6",
     "'imprisonment' belongs to the court stage"),
    ("parameters.yaml", "provenance: unverified", "provenance: maybe", "parameters.yaml:6",
     "threshold_g.provenance: maybe is not allowed; allowed: verified, unverified"),
    ("parameters.yaml", "{heroin: 1.0, cannabis_herb: 10.0}", "{heroin: 1.0, weed: 10.0}",
     "parameters.yaml:8", "threshold_g.values.2000-01-01.weed: not a value of offence.substance"),
    ("pack.yaml", "code: testland", "code: otherland", "pack.yaml:1", "must equal the folder"),
    ("police.yaml", "    consent_required: false\n    legal_basis: {citation: Testland Police Act",
     "    legal_basis: {citation: Testland Police Act", "police.yaml:2",
     "measures[0].consent_required: required field is missing"),
    ("police.yaml", "    precedence_over: [arrest_and_charge]",
     "    precedence_over: [conditional_dismissal]", "police.yaml:16",
     "'conditional_dismissal' is not a police measure"),
    ("court.yaml", "      - offence.type not in [\"trafficking\"]",
     "      - offence.type not in [\"trafficking\"", "court.yaml:4",
     "measures[0].when[0]: syntax error in rule"),
    ("court.yaml", "    legal_basis: {citation: Testland Courts Act s.4, text: Treatment order.,",
     "    legal_basis: {citation: Testland Courts Act s.4, text: [Treatment order.,",
     "court.yaml:1", "malformed YAML"),
    ("post_sentence.yaml", "  - id: early_release_with_treatment",
     "  - id: treatment_in_prison", "post_sentence.yaml:5", "overlapping in_force"),
])
def test_pack_errors_name_file_line_and_field(testland_dir: Path, file: str, old: str, new: str,
                                              where: str, message: str) -> None:
    replace(testland_dir / file, old, new)
    with pytest.raises(PackError) as err:
        load_pack(testland_dir)
    text = str(err.value)
    assert where in text
    assert message in text
    assert "\n" not in text


def test_precedence_cycle_is_refused(testland_dir: Path) -> None:
    replace(testland_dir / "police.yaml", "    consent_required: false\n    legal_basis: {citation: "
            "Testland Criminal Code", "    precedence_over: [referral_to_health_services]\n"
            "    consent_required: false\n    legal_basis: {citation: Testland Criminal Code")
    with pytest.raises(PackError, match="cycle: .*arrest_and_charge"):
        load_pack(testland_dir)


def test_hash_changes_with_content(testland_dir: Path) -> None:
    before = load_pack(testland_dir).hash
    replace(testland_dir / "parameters.yaml", "heroin: 2.0", "heroin: 2.5")
    assert load_pack(testland_dir).hash != before


def test_every_shipped_pack_loads_with_citations() -> None:
    packs = list(iter_packs())
    assert {p.code for p in packs} >= {
        "model", "usa", "portugal", "belgium", "iran", "malaysia", "kenya", "cote_divoire"}
    for pack in packs:
        assert len(pack.examples) >= 6, pack.code
        for rules in pack.rules.values():
            for rule in rules:
                assert rule.citations and all(c.strip() for c in rule.citations), rule.where
    assert [p.name for p in pack_dirs()] == sorted(p.code for p in packs)


def _first_original(folder: Path) -> tuple[Path, int, int, str]:
    """The first stage file with the law's original-language words: the file, the numbers of
    the entry's first line (`- language:`) and of its `source:` line, and that line."""
    for path in sorted(folder.glob("*.yaml")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if line.strip().startswith("- language:") and "original:" in lines[i - 1]:
                at = next(j for j in range(i, len(lines)) if lines[j].strip().startswith("source:"))
                return path, i + 1, at + 1, lines[at]
    raise AssertionError(f"no original-language law text in {folder}")


@pytest.mark.parametrize("change", ["drop", "empty", "blank"])
def test_the_laws_original_words_without_their_source_are_refused(
        tmp_path: Path, change: str) -> None:
    """A pack quoting the law in its own language must say where the words were read: without a
    source the pack does not load, and the error names the file, the line and the field."""
    import shutil

    from divert.law.policy import POLICIES_DIR

    folder = tmp_path / "portugal"
    shutil.copytree(POLICIES_DIR / "portugal", folder)
    path, entry, at, source = _first_original(folder)
    indent = source[:len(source) - len(source.lstrip())]
    new = {"drop": "", "empty": f'{indent}source: ""\n', "blank": f'{indent}source: "   "\n'}[change]
    replace(path, source + "\n", new)
    with pytest.raises(PackError) as err:
        load_pack(folder)
    text = str(err.value)
    line = entry if change == "drop" else at  # a missing field: its entry; a bad one: its line
    assert text.startswith(f"{path}:{line}: ") and "\n" not in text
    assert ".original[0].source: " in text
