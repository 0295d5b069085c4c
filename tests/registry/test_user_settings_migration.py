"""Migration 0006 (user_settings, each account's language): it upgrades a registry of 0005 with its
rows kept, and downgrades back to 0005 without the table."""

from __future__ import annotations

import sqlalchemy as sa

from divert.registry import database


def _tables(url: str) -> set[str]:
    engine = database.make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _to(url: str, revision: str, down: bool = False) -> None:
    from alembic import command

    engine = database.make_engine(url)
    with engine.begin() as conn:
        (command.downgrade if down else command.upgrade)(database._alembic_config(conn), revision)
    engine.dispose()


def test_0006_upgrades_and_downgrades(db_url: str) -> None:
    _to(db_url, "0005")
    assert "user_settings" not in _tables(db_url)
    engine = database.make_engine(db_url)
    with engine.begin() as conn:
        users = sa.Table("users", sa.MetaData(), autoload_with=conn)
        columns = {c.name for c in users.columns}
        row = {"username": "judge1", "password_hash": "x", "role": "judge", "active": True,
               "created_at": sa.func.now(), "version": 1}
        conn.execute(users.insert().values({k: v for k, v in row.items() if k in columns}))
        uid = conn.execute(sa.select(users.c.id)).scalar_one()
    engine.dispose()

    _to(db_url, "0006")
    assert "user_settings" in _tables(db_url)
    engine = database.make_engine(db_url)
    with engine.begin() as conn:
        settings = sa.Table("user_settings", sa.MetaData(), autoload_with=conn)
        assert {c.name for c in settings.columns} == {"id", "user_id", "locale", "version"}
        conn.execute(settings.insert().values(user_id=uid, locale="fa", version=1))
        assert conn.execute(sa.select(settings.c.locale)).scalar_one() == "fa"
        # one row per account
        try:
            with conn.begin_nested():
                conn.execute(settings.insert().values(user_id=uid, locale="pt", version=1))
        except sa.exc.IntegrityError:
            pass
        else:
            raise AssertionError("a second language row for the same account was accepted")
        users = sa.Table("users", sa.MetaData(), autoload_with=conn)
        assert conn.execute(sa.select(users.c.username)).scalar_one() == "judge1"
    engine.dispose()

    _to(db_url, "0005", down=True)
    assert "user_settings" not in _tables(db_url)
    engine = database.make_engine(db_url)
    with engine.begin() as conn:
        users = sa.Table("users", sa.MetaData(), autoload_with=conn)
        assert conn.execute(sa.select(users.c.username)).scalar_one() == "judge1"
    engine.dispose()
    assert database.head_revision() == "0006"
