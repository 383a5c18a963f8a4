"""import_id: which import wrote or last updated a row

Revision ID: 0004
Revises: 0003

Rows an import writes or updates (people, offences, referrals, stop-and-search rows) carry the
import's id: a random hex id that is also the row_id of the import's one audit event (action
'import', whose detail holds the same id and the row counts). Rows typed in a form have none.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

IMPORTED = ("person", "offence", "referral", "stop_search")


def upgrade() -> None:
    for table in IMPORTED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('import_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))


def downgrade() -> None:
    for table in IMPORTED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('import_id')
