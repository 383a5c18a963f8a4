"""sealed audit trail: each audit event carries the seal of the one before it; no event can be
replaced or written without its seal

Revision ID: 0005
Revises: 0004

audit_event gets prev_hash and hash (divert.storage.audit_chain): the events already there are
sealed here, in id order, so that `divert audit verify` passes on an upgraded database. New
triggers refuse an insert without a seal and, on SQLite, an insert that would replace an existing
event (INSERT OR REPLACE deletes the old row without firing the delete trigger unless
recursive_triggers is on, which the app now also turns on for every connection).

Stop every replica before this upgrade: a replica still on the old version writes events
without a seal, which the new trigger refuses.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from divert.storage import audit_chain

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

NO_UPDATE = (
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit events cannot be changed'); END"
)
SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_event_no_replace BEFORE INSERT ON audit_event "
    "WHEN EXISTS (SELECT 1 FROM audit_event WHERE id = NEW.id) "
    "BEGIN SELECT RAISE(ABORT, 'audit events cannot be replaced'); END",
    "CREATE TRIGGER audit_event_sealed BEFORE INSERT ON audit_event "
    "WHEN NEW.hash IS NULL OR NEW.prev_hash IS NULL "
    "BEGIN SELECT RAISE(ABORT, 'an audit event must be sealed (divert.storage.audit_chain)'); END",
)
POSTGRES_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION divert_audit_event_unsealed() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'an audit event must be sealed (divert.storage.audit_chain)'; END $$",
    "CREATE TRIGGER audit_event_sealed BEFORE INSERT ON audit_event FOR EACH ROW "
    "WHEN (NEW.hash IS NULL OR NEW.prev_hash IS NULL) EXECUTE FUNCTION divert_audit_event_unsealed()",
)
EVENT = sa.table(
    'audit_event', sa.column('id'), sa.column('at', sqlmodel.sql.sqltypes.UTCDateTime()),
    *(sa.column(name) for name in (*audit_chain.FIELDS[1:], "prev_hash", "hash")),
)


def upgrade() -> None:
    op.add_column('audit_event', sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column('audit_event', sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    sqlite = op.get_bind().dialect.name == "sqlite"
    _seal_existing(sqlite)
    for statement in SQLITE_TRIGGERS if sqlite else POSTGRES_TRIGGERS:
        op.execute(statement)


def _seal_existing(sqlite: bool) -> None:
    """Seal the events already there, in id order (the update trigger is lifted for it, inside
    this migration's transaction)."""
    conn = op.get_bind()
    columns = [EVENT.c[name] for name in ("id", *audit_chain.FIELDS)]
    rows = conn.execute(sa.select(*columns).order_by(EVENT.c.id)).mappings().all()
    if not rows:
        return
    seals, prev = [], audit_chain.GENESIS
    for row in rows:
        seal = audit_chain.link(prev, dict(row))
        seals.append({"event_id": row["id"], "prev_hash": prev, "hash": seal})
        prev = seal
    op.execute("DROP TRIGGER audit_event_no_update" if sqlite
               else "ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change")
    conn.execute(sa.update(EVENT).where(EVENT.c.id == sa.bindparam("event_id"))
                 .values(prev_hash=sa.bindparam("prev_hash"), hash=sa.bindparam("hash")), seals)
    op.execute(NO_UPDATE if sqlite else "ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_change")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_sealed")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_replace")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_sealed ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS divert_audit_event_unsealed()")
    # not batch mode: on SQLite that would copy the table and lose its triggers
    op.execute("ALTER TABLE audit_event DROP COLUMN hash")
    op.execute("ALTER TABLE audit_event DROP COLUMN prev_hash")
