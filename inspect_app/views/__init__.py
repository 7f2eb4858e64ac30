"""Blueprints, one per resource."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import api, auth, buildings, health, inspections, photos

    for module in (auth, buildings, inspections, photos, health, api):
        app.register_blueprint(module.bp)
