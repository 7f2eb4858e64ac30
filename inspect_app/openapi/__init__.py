"""The OpenAPI 3.1 description of ``/api/v1``; each endpoint added to the API is added here
(``ledger``, ``campaigns``, ``inspections``: one module per part of the API)."""

from __future__ import annotations

from .campaigns import add_campaigns
from .inspections import add_inspections
from .ledger import add_ledger
from .schema import error_response


def spec() -> dict:
    building = {
        "type": "object",
        "required": ["id", "code", "name", "address", "use", "colour", "reasons"],
        "properties": {
            "id": {"type": "integer"},
            "code": {"type": "string"},
            "name": {"type": "string"},
            "address": {"type": "string"},
            "use": {"type": "string", "enum": ["residential", "public", "mixed"]},
            "height_m": {"type": "number"},
            "storeys": {"type": "integer"},
            "building_class": {"type": ["string", "null"], "enum": ["R1", "R2", "P1", "P2", None]},
            "area_code": {"type": "string"},
            "colour": {"type": "string", "enum": ["red", "yellow", "green", "grey"]},
            "reasons": {"type": "array", "items": {"type": "string"}},
            "last_inspected_on": {"type": ["string", "null"], "format": "date"},
            "code_url": {
                "type": "string",
                "format": "uri",
                "description": "The fire safety code's public page (what its QR code encodes); "
                "only for roles that print posters",
            },
        },
    }
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "inspect_app API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
                },
                "Building": building,
            },
        },
        "paths": {
            "/me": {
                "get": {
                    "summary": "The authenticated user",
                    "responses": {
                        "200": {"description": "user"},
                        "401": error_response("not logged in"),
                    },
                }
            },
            "/session": {
                "get": {
                    "summary": "Browser session probe: who is logged in, and a fresh CSRF token "
                    "for X-CSRFToken (the offline outbox asks right before it sends)",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "{authenticated, username, csrf_token}, or "
                            "{authenticated: false}; never cached"
                        }
                    },
                }
            },
            "/buildings": {
                "get": {
                    "summary": "Buildings in the caller's scope with their code colour",
                    "parameters": [
                        {"name": "q", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "page",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "a page of buildings",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "items": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Building"},
                                            },
                                            "page": {"type": "integer"},
                                            "pages": {"type": "integer"},
                                            "total": {"type": "integer"},
                                        },
                                    }
                                }
                            },
                        },
                        "400": error_response("bad parameter"),
                        "401": error_response("not logged in"),
                    },
                }
            },
            "/buildings/{code}": {
                "get": {
                    "summary": "One building in the caller's scope",
                    "parameters": [
                        {
                            "name": "code",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "the building",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Building"}
                                }
                            },
                        },
                        "401": error_response("not logged in"),
                        "404": error_response("no such building in scope"),
                    },
                }
            },
        },
    }
    add_ledger(doc)
    add_campaigns(doc)
    add_inspections(doc)
    return doc
