"""A calendar per programme (sitting weekdays, closed days) and the history of drug test results.

New tables only: the rows already in the registry (and their audit digests) are unchanged. Tests
recorded before this revision have no history entries; the audit log holds how their results
were recorded.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "court_calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("sitting_weekdays", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["programme_id"], ["programmes.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("programme_id"),
    )
    op.create_table(
        "closed_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("yearly", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["programme_id"], ["programmes.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("programme_id", "day"),
    )
    op.create_table(
        "test_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("drug_test_id", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("substances", sa.JSON(), nullable=True),
        sa.Column("collected_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["drug_test_id"], ["drug_tests.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_test_results_test", "test_results", ["drug_test_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_test_results_test", table_name="test_results")
    op.drop_table("test_results")
    op.drop_table("closed_days")
    op.drop_table("court_calendars")
