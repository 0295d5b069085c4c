"""`divert registry rekey`: move a registry to a new registry key in one audited transaction.

Every encrypted value (participants' name, birth date and contact; notes; the free text and case
references of `freetext.FIELDS`) is decrypted with the old key and encrypted with the new one, the
key check is replaced and the chain key is sealed anew (the chain itself, and every head kept
elsewhere, stay valid). Either all of it is committed or nothing is; the old key is needed until
the command has finished, and no longer afterwards.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from divert.registry import crypto
from divert.registry.freetext import FIELDS, FreeTextCipher
from divert.registry.store import CHAIN_KEY, Registry

IDENTITY = ("name", "birth_date", "contact")


def rekey(reg: Registry, actor: str | None, new_key: bytes) -> dict[str, Any]:
    """Re-encrypt `reg` under `new_key`; returns counts."""
    old_key, source = crypto.load_key()
    if old_key == new_key:
        raise crypto.KeyProblem("--new-key-file: the same key as the registry's current one")
    old, new = crypto.FieldCipher(old_key), crypto.FieldCipher(new_key)
    counts = {"participants": 0, "notes": 0, "free_text": 0}
    with reg.write(actor, "registry rekey") as tx:
        facts = reg.meta(tx.conn)
        if facts.get("key_check") != crypto.key_check(old_key):
            raise crypto.KeyProblem(f"{source}: not this registry's key")
        chain_key = reg.chain_key(tx.conn)
        p = tx.conn.execute(select(crypto_tables("participants"))).mappings().all()
        for row in p:
            changes = {f"{f}_enc": new.encrypt(row["code"], f, old.decrypt(row["code"], f,
                                                                          row[f"{f}_enc"]))
                       for f in IDENTITY}
            tx.update("participants", dict(row), changes)
            counts["participants"] += 1
        codes = {r["id"]: r["code"] for r in p}
        for row in tx.conn.execute(select(crypto_tables("notes"))).mappings().all():
            code = codes[row["participant_id"]]
            text = old.decrypt(code, "note", row["text_enc"])
            tx.update("notes", dict(row), {"text_enc": new.encrypt(code, "note", text)})
            counts["notes"] += 1
        counts["free_text"] = _rekey_free_text(tx, FreeTextCipher(old_key), FreeTextCipher(new_key))
        tx.set_meta({"key_check": crypto.key_check(new_key),
                     CHAIN_KEY: crypto.seal_secret(new_key, chain_key, "audit chain key")})
    return counts


def _rekey_free_text(tx: Any, old: FreeTextCipher, new: FreeTextCipher) -> int:
    """Re-encrypt every free-text value of `FIELDS` (in batches); returns the rows changed."""
    n = 0
    for table, cols in FIELDS.items():
        t = crypto_tables(table)
        last = 0
        while True:
            rows = tx.conn.execute(select(t).where(t.c.id > last, or_(*[t.c[c].isnot(None)
                                                                       for c in cols]))
                                   .order_by(t.c.id).limit(5000)).mappings().all()
            if not rows:
                break
            last = rows[-1]["id"]
            items = [(dict(r), {c: new.seal(table, c, r["id"], old.open(table, c, r["id"], r[c]))
                                for c in cols}) for r in rows]
            tx.update_many(table, items, sealed=True)
            n += len(items)
    return n


def crypto_tables(name: str) -> Any:
    from divert.registry.models import AUDITED

    return AUDITED[name]
