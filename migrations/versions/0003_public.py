"""public fire safety code: residents' reports, rate-limit windows, the commitment's date

Revision ID: public
Revises: ledger
Create Date: 2026-11-23 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "public"
down_revision = "ledger"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("contact", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("hazard_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('new', 'confirmed', 'dismissed')", name=op.f("ck_report_status")
        ),
        sa.ForeignKeyConstraint(
            ["building_id"], ["building.id"], name=op.f("fk_report_building_id_building")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"], ["user.id"], name=op.f("fk_report_reviewed_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["hazard_id"], ["hazard.id"], name=op.f("fk_report_hazard_id_hazard")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report")),
    )
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_hazard_id"), ["hazard_id"])
        batch_op.create_index("ix_report_building_status", ["building_id", "status"])

    op.create_table(
        "rate_limit_window",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("window_start", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_rate_limit_window")),
    )
    with op.batch_alter_table("rate_limit_window", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rate_limit_window_expires_at"), ["expires_at"])

    # photo is referenced by no other table, so SQLite's copy-and-rename of it is safe.
    with op.batch_alter_table("photo", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_photo_report_id_report"), "report", ["report_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_photo_report_id"), ["report_id"])

    # A plain nullable column: SQLite adds it in place, building is never copied.
    with op.batch_alter_table("building", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("public_commitment_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("building", schema=None) as batch_op:
        batch_op.drop_column("public_commitment_at")

    with op.batch_alter_table("photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_photo_report_id"))
        batch_op.drop_constraint(batch_op.f("fk_photo_report_id_report"), type_="foreignkey")
        batch_op.drop_column("report_id")

    with op.batch_alter_table("rate_limit_window", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rate_limit_window_expires_at"))
    op.drop_table("rate_limit_window")

    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_index("ix_report_building_status")
        batch_op.drop_index(batch_op.f("ix_report_hazard_id"))
    op.drop_table("report")
