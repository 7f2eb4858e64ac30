"""building registry: proposed corrections of building facts (building_change), their photos

Revision ID: registry
Revises: campaigns
Create Date: 2026-11-23 12:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "registry"
down_revision = "campaigns"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "building_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_uuid", sa.String(length=36), nullable=True),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("class_before", sa.String(length=4), nullable=True),
        sa.Column("class_after", sa.String(length=4), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'rejected')",
            name=op.f("ck_building_change_status"),
        ),
        sa.ForeignKeyConstraint(
            ["building_id"], ["building.id"], name=op.f("fk_building_change_building_id_building")
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"], ["user.id"], name=op.f("fk_building_change_proposed_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["user.id"], name=op.f("fk_building_change_decided_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_building_change")),
        sa.UniqueConstraint("client_uuid", name=op.f("uq_building_change_client_uuid")),
    )
    with op.batch_alter_table("building_change", schema=None) as batch_op:
        batch_op.create_index(
            "ix_building_change_building_status", ["building_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_building_change_proposed_by_id"), ["proposed_by_id"], unique=False
        )

    with op.batch_alter_table("photo", schema=None) as batch_op:
        batch_op.add_column(sa.Column("building_change_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_photo_building_change_id"), ["building_change_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_photo_building_change_id_building_change"),
            "building_change",
            ["building_change_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("photo", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_photo_building_change_id_building_change"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_photo_building_change_id"))
        batch_op.drop_column("building_change_id")

    with op.batch_alter_table("building_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_building_change_proposed_by_id"))
        batch_op.drop_index("ix_building_change_building_status")

    op.drop_table("building_change")
