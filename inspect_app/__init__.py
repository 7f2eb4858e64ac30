"""inspect_app: field inspections and the rectification ledger for high-rise fire safety."""

from __future__ import annotations

from pathlib import Path

from flask import Flask


def resource_dir(name: str) -> Path:
    """The ``static`` or ``migrations`` folder: inside the package when installed from a wheel,
    at the project root in a source checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / name
    return packaged if packaged.is_dir() else here.parent / name


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints and CLI commands, nothing else."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        static_folder=str(resource_dir("static")),
        static_url_path="/static",
    )
    from . import config

    config.load(app, test_config)

    from .auth import login_manager
    from .db import db, migrate
    from .i18n import babel, select_locale
    from .web import csrf, register_web

    db.init_app(app)
    from .notifications import install as install_notifications

    # Inbox messages and webhook deliveries are derived from history rows at commit.
    install_notifications()
    migrate.init_app(app, db, directory=str(resource_dir("migrations")))
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    register_web(app)
    from .audit import install as install_audit

    install_audit(app)

    from .views import register_blueprints

    register_blueprints(app)

    from .cli import register_cli

    register_cli(app)
    return app
