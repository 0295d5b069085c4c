"""International dollars: each pack's money converted by a cited PPP conversion factor.

`ppp.yaml` beside this module holds, per pack, its currency, the price year of its costs and the
World Bank's PPP conversion factor (GDP, local currency units per international dollar) for that
currency and year, each value with its provenance. `to_international(amount, parity)` divides by
the factor; nothing here moves money between years.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from divert.errors import InputError

TABLE = Path(__file__).with_name("ppp.yaml")
PROVENANCES = ("verified", "unverified")
UNIT = "international $"


@dataclass(frozen=True)
class Parity:
    """One pack's PPP conversion factor: `factor` local currency units buy what one
    international dollar buys, at the pack's price year."""

    pack: str
    currency: str
    price_year: int
    factor: float
    provenance: str
    note: str
    price_year_source: str
    source: dict[str, str]

    @property
    def unit(self) -> str:
        """`international $ (2017 prices)`."""
        return f"{UNIT} ({self.price_year} prices)"

    def cite(self) -> dict[str, Any]:
        """What a result states about its conversion."""
        return {"currency": self.currency, "price_year": self.price_year,
                "lcu_per_international_dollar": self.factor, "provenance": self.provenance,
                "note": self.note, "price_year_source": self.price_year_source,
                "indicator": self.source.get("indicator"), "title": self.source.get("title"),
                "publisher": self.source.get("publisher"), "url": self.source.get("url")}


    @classmethod
    def from_cite(cls, pack: str, cite: dict[str, Any]) -> Parity:
        """The parity a result was stamped with (`cite()`), as it was at the run."""
        return cls(pack, str(cite["currency"]), int(cite["price_year"]),
                   float(cite["lcu_per_international_dollar"]), str(cite["provenance"]),
                   str(cite.get("note") or ""), str(cite.get("price_year_source") or ""),
                   {k: str(cite[k]) for k in ("indicator", "title", "publisher", "url")
                    if cite.get(k)})


def to_international(amount: float, parity: Parity) -> float:
    """Local currency (at the pack's price year) in international dollars of that year."""
    return amount / parity.factor


def _line(node: Any, key: str) -> str:
    try:
        return f":{node.lc.key(key)[0] + 1}"
    except (AttributeError, KeyError, TypeError):
        return ""


def _parity(code: str, row: Any, source: dict[str, str], path: Path, line: str) -> Parity:
    where = f"{path}{line}"

    def at(key: str) -> str:
        return f"{path}{_line(row, key) or line}"

    if not isinstance(row, dict):
        raise InputError(f"packs.{code}: a mapping of currency, price_year, "
                         "lcu_per_international_dollar, provenance", where=where)
    for name in ("currency", "price_year", "lcu_per_international_dollar", "provenance"):
        if name not in row:
            raise InputError(f"packs.{code}.{name}: missing", where=where)
    factor = row["lcu_per_international_dollar"]
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not (
            math.isfinite(factor) and factor > 0):
        raise InputError(f"packs.{code}.lcu_per_international_dollar: {factor!r}; allowed: a "
                         "positive number", where=at("lcu_per_international_dollar"))
    year = row["price_year"]
    if isinstance(year, bool) or not isinstance(year, int) or not 1950 <= year <= 2100:
        raise InputError(f"packs.{code}.price_year: {year!r}; allowed: a year from 1950 to 2100",
                         where=at("price_year"))
    if row["provenance"] not in PROVENANCES:
        raise InputError(f"packs.{code}.provenance: {row['provenance']!r}; allowed: "
                         f"{', '.join(PROVENANCES)}", where=at("provenance"))
    return Parity(code, str(row["currency"]), int(year), float(factor), str(row["provenance"]),
                  str(row.get("note") or "").strip(), str(row.get("price_year_source") or ""),
                  source)


def read_table(path: Path = TABLE) -> dict[str, Parity]:
    """Every pack's parity in `path`; a malformed entry is an InputError naming file and line."""
    from divert.law.policy import read_yaml

    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("packs"), dict):
        raise InputError("a mapping with `source` and `packs` expected", where=str(path))
    source = {str(k): str(v).strip() for k, v in (data.get("source") or {}).items()}
    return {str(code): _parity(str(code), row, source, path, _line(data["packs"], code))
            for code, row in data["packs"].items()}


@lru_cache(maxsize=4)
def _table(path: Path) -> dict[str, Parity]:
    return read_table(path)


def parity(pack: str, currency: str | None, path: Path = TABLE) -> Parity | None:
    """The parity of pack `pack`, or None where the table has none; an InputError where the
    table's currency is not the pack's (a factor for another currency would mislead)."""
    found = _table(path).get(pack)
    if found is None:
        return None
    if currency and found.currency != currency:
        raise InputError(f"packs.{pack}.currency: {found.currency} in the PPP table, but the pack's "
                         f"currency is {currency}", where=str(path))
    return found
