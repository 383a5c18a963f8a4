"""void records entered by mistake; contact attempts before the assessment

Revision ID: 0003
Revises: 0002

Referrals, offences and course sessions get void_at / void_by / void_reason: a record entered
by mistake is kept, marked void with a reason, and left out of every figure (an administrator
can undo it). contact_attempt holds the calls made to reach a referred person before the
assessment result is recorded (the worklist's "awaiting first contact" and "contact attempts
due").
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

VOIDABLE = ("referral", "offence", "course_session")


def upgrade() -> None:
    for table in VOIDABLE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('void_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
            batch_op.add_column(sa.Column('void_by', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True))
            batch_op.add_column(sa.Column('void_reason', sa.Text(), nullable=True))
    op.create_table('contact_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('attempted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('assessment_booked_for', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('worker', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("outcome IN ('reached', 'no_answer', 'message_left')", name='ck_contact_outcome'),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('contact_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_attempt_referral_id'), ['referral_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('contact_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_attempt_referral_id'))
    op.drop_table('contact_attempt')
    for table in VOIDABLE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('void_reason')
            batch_op.drop_column('void_by')
            batch_op.drop_column('void_at')
