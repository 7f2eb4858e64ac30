"""Blueprints, one per resource."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import api, auth, buildings, health, inspections, photos

    for module in (auth, buildings, inspections, photos, health, api):
        app.register_blueprint(module.bp)

    # The fire safety code: its public page, posters, residents' reports, manager self-service.
    from . import manager, posters, public, reports

    for module in (public, posters, reports, manager):
        app.register_blueprint(module.bp)

    # The installable shell: service worker, manifest, offline pack, outbox.
    from . import pwa

    app.register_blueprint(pwa.bp)

    # The rectification ledger: hazards and their transitions, one building one plan,
    # supervision listings, rollups and exports, and their JSON API.
    from . import hazards, ledger, ledger_api, plans, supervisions

    for module in (hazards, plans, supervisions, ledger, ledger_api):
        app.register_blueprint(module.bp)

    # The inbox (unread count in the header) and the administrator's webhook pages.
    from . import inbox, webhooks

    for module in (inbox, webhooks):
        app.register_blueprint(module.bp)

    # Campaign oversight: campaigns, spot checks, acceptance round, supervision candidates,
    # the dashboard (page and JSON) and the monthly summary.
    from . import campaigns, dashboard

    for blueprint in (campaigns.bp, dashboard.bp, dashboard.api):
        app.register_blueprint(blueprint)

    # The building registry (import, proposals of building facts, blind spots) and the
    # administrator's pages for areas, users, buildings and API tokens.
    from . import admin, registry

    for module in (registry, admin):
        app.register_blueprint(module.bp)
