"""campaign oversight: spot-check draws (部门抽查) and their tasks, acceptance verdicts (逐栋验收)

Revision ID: campaigns
Revises: notifications
Create Date: 2026-11-23 12:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "campaigns"
down_revision = "notifications"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "spot_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.String(length=40), nullable=False),
        sa.Column("algorithm", sa.String(length=32), nullable=False),
        sa.Column("rate_public", sa.Numeric(precision=4, scale=3), nullable=False),
        sa.Column("rate_residential", sa.Numeric(precision=4, scale=3), nullable=False),
        sa.Column("population", sa.JSON(), nullable=False),
        sa.Column("population_sha256", sa.String(length=64), nullable=False),
        sa.Column("sample", sa.JSON(), nullable=False),
        sa.Column("team", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("drawn_by_id", sa.Integer(), nullable=True),
        sa.Column("drawn_by", sa.String(length=120), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_spot_check_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(["area_id"], ["area.id"], name=op.f("fk_spot_check_area_id_area")),
        sa.ForeignKeyConstraint(
            ["drawn_by_id"], ["user.id"], name=op.f("fk_spot_check_drawn_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spot_check")),
    )
    with op.batch_alter_table("spot_check", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spot_check_campaign_id"), ["campaign_id"])
        batch_op.create_index(batch_op.f("ix_spot_check_area_id"), ["area_id"])

    op.create_table(
        "spot_check_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("spot_check_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("sample_group", sa.String(length=16), nullable=False),
        sa.Column("survey_inspection_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "sample_group IN ('public', 'residential')",
            name=op.f("ck_spot_check_task_sample_group"),
        ),
        sa.ForeignKeyConstraint(
            ["spot_check_id"],
            ["spot_check.id"],
            name=op.f("fk_spot_check_task_spot_check_id_spot_check"),
        ),
        sa.ForeignKeyConstraint(
            ["building_id"], ["building.id"], name=op.f("fk_spot_check_task_building_id_building")
        ),
        sa.ForeignKeyConstraint(
            ["survey_inspection_id"],
            ["inspection.id"],
            name=op.f("fk_spot_check_task_survey_inspection_id_inspection"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spot_check_task")),
        sa.UniqueConstraint(
            "spot_check_id",
            "building_id",
            name=op.f("uq_spot_check_task_spot_check_id_building_id"),
        ),
    )
    with op.batch_alter_table("spot_check_task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spot_check_task_building_id"), ["building_id"])

    op.create_table(
        "acceptance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("unclosed_hazard_ids", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"], ["building.id"], name=op.f("fk_acceptance_building_id_building")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_acceptance_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection.id"],
            name=op.f("fk_acceptance_inspection_id_inspection"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["user.id"], name=op.f("fk_acceptance_decided_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acceptance")),
        sa.UniqueConstraint("inspection_id", name=op.f("uq_acceptance_inspection_id")),
    )
    with op.batch_alter_table("acceptance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_acceptance_building_id"), ["building_id"])
        batch_op.create_index(batch_op.f("ix_acceptance_campaign_id"), ["campaign_id"])


def downgrade():
    with op.batch_alter_table("acceptance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_acceptance_campaign_id"))
        batch_op.drop_index(batch_op.f("ix_acceptance_building_id"))
    op.drop_table("acceptance")

    with op.batch_alter_table("spot_check_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spot_check_task_building_id"))
    op.drop_table("spot_check_task")

    with op.batch_alter_table("spot_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spot_check_area_id"))
        batch_op.drop_index(batch_op.f("ix_spot_check_campaign_id"))
    op.drop_table("spot_check")
