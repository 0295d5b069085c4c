"""International dollars: the shipped PPP table, its checks and the conversion."""

from __future__ import annotations

from pathlib import Path

import pytest

from divert.errors import InputError
from divert.law.policy import load
from divert.studies.parity import TABLE, Parity, parity, read_table, to_international
from divert.web.jobs import packs


def test_every_pack_has_a_factor_in_its_own_currency_with_provenance() -> None:
    table = read_table()
    for code in packs():
        entry = parity(code, load(code).meta.currency)
        assert entry is not None, f"{code} has no PPP factor"
        assert entry.currency == load(code).meta.currency
        assert entry.provenance in ("verified", "unverified")
        assert entry.price_year_source.startswith(f"policies/{code}/")
        assert table[code].source["url"] == "https://data.worldbank.org/indicator/PA.NUS.PPP"


def test_the_us_dollar_is_the_base_and_only_it_is_verified_by_definition() -> None:
    table = read_table()
    for code, entry in table.items():
        if entry.currency == "USD":
            assert entry.factor == 1.0 and entry.provenance == "verified", code
        else:  # written offline: no value may claim to be checked
            assert entry.provenance == "unverified", code


def test_conversion_divides_by_local_units_per_international_dollar() -> None:
    iran = parity("iran", "IRR")
    assert iran is not None
    assert to_international(2.2e9, iran) == pytest.approx(2.2e9 / iran.factor)
    eur = Parity("x", "EUR", 2018, 0.8, "unverified", "", "", {})
    assert to_international(1_000.0, eur) == pytest.approx(1_250.0)
    assert eur.unit == "international $ (2018 prices)"
    assert Parity.from_cite("x", eur.cite()) == eur


def test_a_currency_other_than_the_packs_is_refused() -> None:
    with pytest.raises(InputError, match="packs.iran.currency: IRR in the PPP table, but the "
                                         "pack's currency is USD"):
        parity("iran", "USD")
    assert parity("nowhere", "USD") is None


@pytest.mark.parametrize(("line", "message", "number"), [
    ("    lcu_per_international_dollar: -3", "packs.p.lcu_per_international_dollar: -3; allowed", 6),
    ("    lcu_per_international_dollar: many", "lcu_per_international_dollar: 'many'", 6),
    ("    provenance: trust me", "packs.p.provenance: 'trust me'; allowed: verified, unverified",
     7),
])
def test_a_bad_entry_names_file_line_and_field(tmp_path: Path, line: str, message: str,
                                               number: int) -> None:
    good = {"    lcu_per_international_dollar": "    lcu_per_international_dollar: 2.0",
            "    provenance": "    provenance: unverified"}
    rows = ["source: {indicator: PA.NUS.PPP}", "packs:", "  p:", "    currency: ABC",
            "    price_year: 2020", good["    lcu_per_international_dollar"],
            good["    provenance"]]
    key = line.split(":")[0]
    rows = [line if r.startswith(key + ":") else r for r in rows]
    path = tmp_path / "ppp.yaml"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message) as err:
        read_table(path)
    assert str(err.value).startswith(f"{path}:{number}: ")


def test_the_shipped_table_is_the_one_read() -> None:
    assert TABLE.name == "ppp.yaml" and TABLE.is_file()
