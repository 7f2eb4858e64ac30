"""The migrations build the models' schema exactly, from an empty database, on this engine."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from inspect_app.db import db

from .conftest import fresh_database_url, make_test_app


def _diff(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(context, db.metadata)


def test_upgrade_empty_database_to_head_without_drift(tmp_path):
    app = make_test_app(tmp_path, fresh_database_url(tmp_path))
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {t.name for t in db.metadata.sorted_tables} <= tables
        assert _diff(app) == []
        db.engine.dispose()


def test_downgrade_to_base_and_up_again(tmp_path):
    app = make_test_app(tmp_path, fresh_database_url(tmp_path))
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert _diff(app) == []
        db.engine.dispose()
