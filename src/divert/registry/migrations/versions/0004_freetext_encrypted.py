"""Free text and case references encrypted at rest (`freetext`).

Case references become unbounded text (a ciphertext is longer than the 100 characters allowed in
plain). Rows already holding plain free text are marked (`registry_meta.freetext_pending`): the
same `divert registry init`, once it holds the key and the keyed audit chain, encrypts them in one
audited transaction (`store.seal_plaintext`); until then every other command refuses the registry.
There is no way back: the downgrade is refused (restore a backup taken before the upgrade).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: the columns of `freetext.FIELDS` as they stood at this revision
FIELDS = {
    "cases": ("reference",), "advice": ("decision_note",), "consents": ("note",),
    "enrolments": ("end_reason",), "attendance": ("note",), "hearings": ("note",),
    "responses": ("note",), "phase_changes": ("reason",), "rearrests": ("note",),
}
PENDING = "freetext_pending"


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":  # SQLite does not enforce VARCHAR lengths
        op.alter_column("cases", "reference", type_=sa.Text(), existing_type=sa.String(100),
                        existing_nullable=True)
    plain = False
    for table, cols in FIELDS.items():
        cond = " OR ".join(f"{c} IS NOT NULL" for c in cols)
        if conn.execute(sa.text(f"SELECT 1 FROM {table} WHERE {cond} LIMIT 1")).first():
            plain = True
            break
    if plain:
        meta = sa.table("registry_meta", sa.column("key", sa.String), sa.column("value", sa.Text))
        conn.execute(sa.delete(meta).where(meta.c.key == PENDING))
        conn.execute(sa.insert(meta).values(key=PENDING, value="0004"))


def downgrade() -> None:
    raise RuntimeError("schema 0004 cannot be downgraded: free text and case references are "
                       "encrypted from 0004 on; restore a backup taken before the upgrade instead")
