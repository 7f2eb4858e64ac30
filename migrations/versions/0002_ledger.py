"""rectification ledger: supervision (挂牌督办), suspected-major reviews, rebound index

Revision ID: ledger
Revises: 0001
Create Date: 2026-11-23 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "ledger"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "supervision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("issues", sa.Text(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("responsible_person", sa.String(length=120), nullable=False),
        sa.Column("responsible_unit", sa.String(length=120), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("report_by", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("report_note", sa.Text(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('active', 'closed')", name=op.f("ck_supervision_status")),
        sa.CheckConstraint(
            "source IN ('hazards', 'suspected_major')", name=op.f("ck_supervision_source")
        ),
        sa.ForeignKeyConstraint(
            ["building_id"], ["building.id"], name=op.f("fk_supervision_building_id_building")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_supervision_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["user.id"], name=op.f("fk_supervision_closed_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision")),
    )
    with op.batch_alter_table("supervision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supervision_building_id"), ["building_id"])

    op.create_table(
        "major_hazard_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("ruleset", sa.String(length=32), nullable=False),
        sa.Column("elements", sa.JSON(), nullable=False),
        sa.Column("hazard_ids", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("supervision_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "decision IN ('confirmed', 'dismissed')", name=op.f("ck_major_hazard_review_decision")
        ),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
            name=op.f("fk_major_hazard_review_building_id_building"),
        ),
        sa.ForeignKeyConstraint(
            ["supervision_id"],
            ["supervision.id"],
            name=op.f("fk_major_hazard_review_supervision_id_supervision"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user.id"],
            name=op.f("fk_major_hazard_review_decided_by_id_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_major_hazard_review")),
    )
    with op.batch_alter_table("major_hazard_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_major_hazard_review_building_id"), ["building_id"])

    with op.batch_alter_table("hazard", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supervision_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_hazard_supervision_id_supervision"),
            "supervision",
            ["supervision_id"],
            ["id"],
        )
        batch_op.create_index(batch_op.f("ix_hazard_supervision_id"), ["supervision_id"])
        batch_op.create_index("ix_hazard_building_item", ["building_id", "item_id", "closed_at"])


def downgrade():
    with op.batch_alter_table("hazard", schema=None) as batch_op:
        batch_op.drop_index("ix_hazard_building_item")
        batch_op.drop_index(batch_op.f("ix_hazard_supervision_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_hazard_supervision_id_supervision"), type_="foreignkey"
        )
        batch_op.drop_column("supervision_id")

    with op.batch_alter_table("major_hazard_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_major_hazard_review_building_id"))
    op.drop_table("major_hazard_review")

    with op.batch_alter_table("supervision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervision_building_id"))
    op.drop_table("supervision")
