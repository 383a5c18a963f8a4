"""Alembic migrations: an empty database upgrades to head, and the models match the schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from divert.storage.db import current_revision, data_version, get_engine, head_revision, upgrade


def test_empty_database_upgrades_to_head(db_url):
    assert current_revision(db_url) is None
    upgrade(db_url)
    assert current_revision(db_url) == head_revision()
    engine = get_engine(db_url)
    tables = set(inspect(engine).get_table_names())
    expected = {"person", "offence", "referral", "assessment", "course_session", "booking", "closure",
                "stop_search", "population", "app_user", "audit_event", "setting", "data_version"}
    assert expected <= tables
    assert data_version(engine) == 0
    upgrade(db_url)  # a second upgrade is a no-op
    assert current_revision(db_url) == head_revision()
    engine.dispose()


def test_models_and_migrations_agree(db_url):
    upgrade(db_url)
    engine = get_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    engine.dispose()
    assert diff == [], f"models differ from the migrations; add a migration: {diff}"
