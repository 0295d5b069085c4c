"""Free text and case references encrypted at rest (AES-256-GCM), each bound to its row.

Every column of `FIELDS` (case references, decision, consent, attendance, hearing, response and
rearrest notes, exit and phase-change reasons, reasons for a changed test result, overrides
included) is stored as `v1:` + base64(nonce || ciphertext+tag) under the registry key (`crypto`).
The associated data name the table, the column and the row id, so a ciphertext copied to another
row or column does not decrypt.

`store.Tx` seals these columns on every insert and update (the audit log records the ciphertext
only) and hands the plain text back to its caller; readers open them with `cipher_of(conn)`.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from divert.registry.crypto import KeyProblem, load_key

#: the free-text columns (and case references) of each table, encrypted at rest
FIELDS: dict[str, tuple[str, ...]] = {
    "cases": ("reference",),
    "advice": ("decision_note",),
    "consents": ("note",),
    "enrolments": ("end_reason",),
    "attendance": ("note",),
    "hearings": ("note",),
    "responses": ("note",),
    "phase_changes": ("reason",),
    "rearrests": ("note",),
    "test_results": ("reason",),
}
#: `registry_meta` fact set by migration 0004 while plaintext rows wait for `registry init`
PENDING = "freetext_pending"
_INFO = "divert_freetext"


def _aad(table: str, column: str, row_id: int) -> bytes:
    return f"divert-freetext-v1|{table}|{column}|{int(row_id)}".encode()


@dataclass(frozen=True)
class FreeTextCipher:
    """Seals and opens the free-text columns of `FIELDS` under one registry key."""

    key: bytes

    def seal(self, table: str, column: str, row_id: int, value: str | None) -> str | None:
        """`value` encrypted, bound to `table`, `column` and row `row_id`."""
        if value is None:
            return None
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self.key).encrypt(nonce, value.encode("utf-8"), _aad(table, column, row_id))
        return "v1:" + base64.b64encode(nonce + sealed).decode("ascii")

    def _try(self, table: str, column: str, row_id: int, stored: str) -> str | None:
        if not isinstance(stored, str) or not stored.startswith("v1:"):
            return None
        try:
            raw = base64.b64decode(stored[3:], validate=True)
            if len(raw) < 28:
                return None
            plain = AESGCM(self.key).decrypt(raw[:12], raw[12:], _aad(table, column, row_id))
        except (InvalidTag, ValueError, binascii.Error):
            return None
        return plain.decode("utf-8")

    def open(self, table: str, column: str, row_id: int, stored: str | None) -> str | None:
        """The plain text; `KeyProblem` when the key is wrong or the value was altered or moved."""
        if stored is None:
            return None
        plain = self._try(table, column, row_id, stored)
        if plain is None:
            raise KeyProblem(f"{table} row {row_id}, {column}: cannot decrypt (wrong key, not "
                             "encrypted, or the value was altered or moved from another row or "
                             "column)")
        return plain

    def is_sealed(self, table: str, column: str, row_id: int, stored: Any) -> bool:
        """Whether `stored` is a ciphertext of this key for exactly this table, column and row."""
        return stored is None or self._try(table, column, row_id, stored) is not None

    def open_row(self, table: str, row: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of `row` (it must carry `id`) with its free-text columns opened."""
        return self._each(table, row, self.open)

    def seal_row(self, table: str, row: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of `row` (plain text, with its `id`) with its free-text columns sealed."""
        return self._each(table, row, self.seal)

    @staticmethod
    def _each(table: str, row: Mapping[str, Any],
              fn: Callable[[str, str, int, Any], Any]) -> dict[str, Any]:
        out = dict(row)
        for col in FIELDS.get(table, ()):
            if col in out:
                out[col] = fn(table, col, out["id"], out[col])
        return out

def attach(conn: Any, make: Callable[[], FreeTextCipher]) -> None:
    """Let readers of `conn` find the registry's cipher (made on first use)."""
    conn.info[_INFO] = make


def cipher_of(conn: Any) -> FreeTextCipher:
    """The cipher of the registry `conn` belongs to (else one from the configured key)."""
    make = conn.info.get(_INFO)
    if make is not None:
        return make()  # type: ignore[no-any-return]
    return FreeTextCipher(load_key()[0])


def open_rows(conn: Any, table: str, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`rows` of `table` with their free-text columns opened."""
    rows = list(rows)
    if not rows or table not in FIELDS:
        return [dict(r) for r in rows]
    cipher = cipher_of(conn)
    return [cipher.open_row(table, r) for r in rows]
