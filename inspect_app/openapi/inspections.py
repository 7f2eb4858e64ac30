"""Field capture: the checklist, photos ahead of a submission, the inspection itself."""

from __future__ import annotations

from .schema import ERROR, error_response, json_response


def add_inspections(doc: dict) -> None:
    """What the phone app sends: the checklist it renders, photos ahead of a submission, and
    the inspection itself (idempotent on ``client_uuid``)."""
    invalid = {
        "description": "invalid input; ``errors`` by field name, ``kept`` photo references "
        "that were stored and may be sent again",
        "content": {
            "application/json": {
                "schema": {
                    "allOf": [
                        ERROR,
                        {
                            "type": "object",
                            "properties": {
                                "errors": {
                                    "type": "object",
                                    "additionalProperties": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                    },
                                },
                                "kept": {"type": "object"},
                            },
                        },
                    ]
                }
            }
        },
    }
    refs = {
        "type": "array",
        "items": {"type": "string"},
        "description": "sha256 of photos already sent to /photos",
    }
    finding = {
        "type": "object",
        "required": ["item"],
        "properties": {
            "item": {"type": "string", "description": "checklist item code"},
            "result": {"type": "string", "enum": ["pass", "fail", "na"]},
            "value": {"type": "number", "minimum": 0, "maximum": 100000},
            "note": {"type": "string", "maxLength": 1000},
            "photo_refs": refs,
            "disposition": {"type": "string", "enum": ["plan", "fixed"]},
            "after_photo_refs": refs,
            "responsible_party": {"type": "string", "maxLength": 120},
            "measures": {"type": "string", "maxLength": 2000},
            "deadline": {"type": "string", "format": "date"},
            "funding": {"type": "string", "maxLength": 120},
        },
    }
    followup = {
        "type": "object",
        "required": ["hazard"],
        "properties": {
            "hazard": {"type": "string", "description": "id of an open hazard of the building"},
            "outcome": {"type": "string", "enum": ["present", "fixed"]},
            "note": {"type": "string", "maxLength": 1000},
            "photo_refs": refs,
        },
    }
    doc["components"]["schemas"]["InspectionSubmission"] = {
        "type": "object",
        "required": ["client_uuid", "kind"],
        "properties": {
            "client_uuid": {
                "type": "string",
                "format": "uuid",
                "description": "idempotency key minted when the form opened",
            },
            "kind": {
                "type": "string",
                "enum": ["survey", "patrol", "spot_check", "acceptance", "self_check"],
            },
            "started_at": {"type": "string"},
            "latitude": {"type": "number", "minimum": -90, "maximum": 90},
            "longitude": {"type": "number", "minimum": -180, "maximum": 180},
            "note": {"type": "string", "maxLength": 2000},
            "findings": {"type": "array", "items": finding, "maxItems": 500},
            "followups": {"type": "array", "items": followup, "maxItems": 500},
        },
    }
    doc["paths"]["/checklists/current"] = {
        "get": {
            "summary": "The current checklist version with its items",
            "responses": {
                "200": json_response(
                    {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "code": {"type": "string"},
                            "version": {"type": "string"},
                            "items": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                    "the checklist",
                ),
                "401": error_response("not logged in"),
                "404": error_response("no checklist loaded yet"),
            },
        }
    }
    doc["paths"]["/photos"] = {
        "post": {
            "summary": "Store one photo ahead of the submission that uses it (by sha256)",
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["photo"],
                            "properties": {"photo": {"type": "string", "format": "binary"}},
                        }
                    }
                },
            },
            "responses": {
                "200": json_response(_PHOTO, "already stored"),
                "201": json_response(_PHOTO, "stored"),
                "400": error_response("malformed request"),
                "401": error_response("not logged in"),
                "403": error_response("role may not upload photos"),
                "413": error_response("photo too large"),
                "422": error_response("missing or unreadable photo"),
            },
        }
    }
    doc["paths"]["/buildings/{code}/inspections"] = {
        "post": {
            "summary": "Submit an inspection (JSON, or multipart with photo files); a replay of "
            "the same client_uuid answers the existing inspection (200)",
            "parameters": [
                {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/InspectionSubmission"}
                    }
                },
            },
            "responses": {
                "200": json_response(_SUBMITTED, "already submitted: the existing inspection"),
                "201": json_response(_SUBMITTED, "recorded"),
                "400": error_response("body is not a JSON object"),
                "401": error_response("not logged in"),
                "403": error_response("role may not inspect"),
                "404": error_response("no such building in scope"),
                "409": error_response("client_uuid already used for different content"),
                "413": error_response("request too large"),
                "422": invalid,
            },
        }
    }


_PHOTO = {
    "type": "object",
    "required": ["sha256"],
    "properties": {
        "sha256": {"type": "string"},
        "width": {"type": "integer"},
        "height": {"type": "integer"},
    },
}
_SUBMITTED = {
    "type": "object",
    "required": ["id", "client_uuid"],
    "properties": {
        "id": {"type": "integer"},
        "client_uuid": {"type": "string"},
        "url": {"type": "string"},
        "hazards": {"type": "integer"},
    },
}
