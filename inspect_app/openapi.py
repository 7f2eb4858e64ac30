"""The OpenAPI 3.1 description of ``/api/v1``; each endpoint added to the API is added here."""

from __future__ import annotations

_ERROR = {"$ref": "#/components/schemas/Error"}


def _err(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


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
                    "responses": {"200": {"description": "user"}, "401": _err("not logged in")},
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
                        "400": _err("bad parameter"),
                        "401": _err("not logged in"),
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
                        "401": _err("not logged in"),
                        "404": _err("no such building in scope"),
                    },
                }
            },
        },
    }
    _add_ledger(doc)
    _add_campaigns(doc)
    _add_inspections(doc)
    return doc


# --- rectification ledger (整改台账) ----------------------------------------------------------

_HAZARD_ACTIONS = [
    "submit_evidence",
    "accept",
    "reject",
    "extend_deadline",
    "update_plan",
    "supervise",
]
_LEDGER_FILTERS = [
    {"name": "area", "in": "query", "schema": {"type": "string"},
     "description": "Area code in the caller's scope (default: the caller's area)"},
    {"name": "campaign", "in": "query", "schema": {"type": "integer"},
     "description": "Limit the period to the campaign's dates"},
    {"name": "start", "in": "query", "schema": {"type": "string", "format": "date"},
     "description": "Found on or after (district's local date)"},
    {"name": "end", "in": "query", "schema": {"type": "string", "format": "date"},
     "description": "Found on or before (district's local date)"},
    {"name": "status", "in": "query",
     "schema": {"type": "string", "enum": ["open", "submitted", "closed", "fixed_on_spot"]}},
    {"name": "category", "in": "query", "schema": {"type": "string"}},
    {"name": "severity", "in": "query",
     "schema": {"type": "string", "enum": ["minor", "general", "major"]}},
    {"name": "overdue", "in": "query", "schema": {"type": "boolean"},
     "description": "Only open hazards past their deadline"},
    {"name": "supervised", "in": "query", "schema": {"type": "boolean"},
     "description": "Only hazards listed for supervision (挂牌督办)"},
    {"name": "rebound", "in": "query", "schema": {"type": "boolean"},
     "description": "Only rebounds (反弹): same building and checklist item found again "
     "within REBOUND_DAYS after a closure"},
]
_COUNTS = {
    "type": "object",
    "properties": {
        name: {"type": "integer"}
        for name in (
            "buildings", "inspected", "found", "fixed_on_spot", "open", "overdue",
            "submitted", "closed", "supervised", "rebound",
        )
    }
    | {
        "coverage": {"type": ["number", "null"], "description": "inspected / buildings"},
        "rectification_rate": {
            "type": ["number", "null"],
            "description": "(closed + fixed_on_spot) / found",
        },
    },
}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _add_ledger(doc: dict) -> None:
    """The ledger's endpoints: hazards, their events (transitions, 409 when stale), rollups."""
    ref = {"$ref": "#/components/schemas/Hazard"}
    schemas = doc["components"]["schemas"]
    schemas["Hazard"] = {
        "type": "object",
        "required": ["id", "status", "version"],
        "properties": {
            "id": {"type": "integer"},
            "building_code": {"type": "string"},
            "category": {"type": "string"},
            "severity": {"type": "string", "enum": ["minor", "general", "major"]},
            "gb35181_direct": {"type": "boolean"},
            "description": {"type": "string"},
            "responsible_party": {"type": ["string", "null"]},
            "measures": {"type": ["string", "null"]},
            "deadline": {"type": ["string", "null"], "format": "date"},
            "funding": {"type": ["string", "null"]},
            "status": {
                "type": "string",
                "enum": ["open", "submitted", "closed", "fixed_on_spot"],
            },
            "days_overdue": {"type": "integer"},
            "supervised": {"type": "boolean"},
            "supervised_at": {"type": ["string", "null"], "format": "date-time"},
            "created_at": {"type": "string", "format": "date-time"},
            "closed_at": {"type": ["string", "null"], "format": "date-time"},
            "version": {"type": "integer", "description": "Send it back with a transition"},
            "rebound": {"type": "boolean"},
            "events": {"type": "array", "items": {"$ref": "#/components/schemas/HazardEvent"}},
        },
    }
    schemas["HazardEvent"] = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "action": {"type": "string"},
            "from_status": {"type": ["string", "null"]},
            "to_status": {"type": ["string", "null"]},
            "actor": {"type": ["string", "null"]},
            "actor_role": {"type": ["string", "null"]},
            "note": {"type": ["string", "null"]},
            "data": {"type": ["object", "null"]},
            "at": {"type": "string", "format": "date-time"},
            "photos": {"type": "array", "items": {"type": "integer"}},
        },
    }
    schemas["Transition"] = {
        "type": "object",
        "required": ["action"],
        "properties": {
            "action": {"type": "string", "enum": _HAZARD_ACTIONS},
            "version": {
                "type": "integer",
                "description": "The version the client saw (or send If-Match: \"v<n>\")",
            },
            "note": {"type": "string"},
            "reason": {"type": "string", "description": "reject, extend_deadline"},
            "deadline": {"type": "string", "format": "date",
                         "description": "extend_deadline; supervise (rectification deadline)"},
            "photos": {"type": "array", "items": {"type": "string"},
                       "description": "submit_evidence: sha256 of photos sent to /photos"},
            "responsible_party": {"type": "string"},
            "measures": {"type": "string"},
            "funding": {"type": "string"},
            "issues": {"type": "string", "description": "supervise: the notice's issues"},
            "plan": {"type": "string", "description": "supervise: rectification plan"},
            "responsible_person": {"type": "string"},
            "responsible_unit": {"type": "string"},
            "report_by": {"type": "string", "format": "date",
                          "description": "supervise: written report due"},
        },
    }
    schemas["Building"]["properties"]["open_hazards"] = {"type": "array", "items": ref}
    schemas["Building"]["properties"]["suspected_major"] = {
        "type": "object",
        "description": "Suspected major fire hazard (GB 35181): a prompt, never a verdict",
        "properties": {
            "flagged": {"type": "boolean"},
            "dismissed": {"type": "boolean"},
            "ruleset": {"type": "string"},
            "elements": {"type": "array", "items": {"type": "string"}},
            "caveat": {"type": "string"},
        },
    }
    hazard_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    paged = {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": ref},
            "page": {"type": "integer"},
            "pages": {"type": "integer"},
            "total": {"type": "integer"},
        },
    }
    doc["paths"]["/hazards"] = {
        "get": {
            "summary": "Hazards in the caller's scope, 100 a page, with the ledger's filters",
            "parameters": [
                *_LEDGER_FILTERS,
                {"name": "building", "in": "query", "schema": {"type": "string"}},
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
            ],
            "responses": {
                "200": _json(paged, "a page of hazards"),
                "400": _err("bad filter"),
                "401": _err("not logged in"),
                "404": _err("area not in scope"),
            },
        }
    }
    doc["paths"]["/hazards/{id}"] = {
        "get": {
            "summary": "One hazard with its history (ETag: \"v<version>\")",
            "parameters": [hazard_id],
            "responses": {
                "200": _json(ref, "the hazard"),
                "401": _err("not logged in"),
                "404": _err("no such hazard in scope"),
            },
        }
    }
    doc["paths"]["/hazards/{id}/events"] = {
        "post": {
            "summary": "A transition of the hazard, recorded as an event",
            "parameters": [
                hazard_id,
                {"name": "If-Match", "in": "header", "schema": {"type": "string"},
                 "description": "\"v<version>\" when the body has no version"},
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Transition"}},
                    "multipart/form-data": {
                        "schema": {"$ref": "#/components/schemas/Transition"}
                    },
                },
            },
            "responses": {
                "201": _json(
                    {
                        "type": "object",
                        "properties": {
                            "event": {"$ref": "#/components/schemas/HazardEvent"},
                            "hazard": ref,
                        },
                    },
                    "done; the hazard's new state",
                ),
                "400": _err("body is not JSON"),
                "401": _err("not logged in"),
                "403": _err("the role may not do this to this hazard"),
                "404": _err("no such hazard in scope"),
                "409": {
                    "description": "stale version or impossible from the current status; "
                    "the body's hazard is the current state and nothing was changed",
                    "content": {"application/json": {"schema": {
                        "allOf": [_ERROR, {"type": "object", "properties": {"hazard": ref}}]
                    }}},
                },
                "422": _err("invalid input (errors by field)"),
            },
        }
    }
    doc["paths"]["/ledger"] = {
        "get": {
            "summary": "The ledger rollup (整改台账) of an area, grouped by a lower level",
            "parameters": [
                {"name": "level", "in": "query",
                 "schema": {"type": "string",
                            "enum": ["street", "community", "grid", "building"]}},
                *_LEDGER_FILTERS,
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "area": {"type": ["object", "null"]},
                            "level": {"type": "string"},
                            "today": {"type": "string", "format": "date"},
                            "rebound_days": {"type": "integer"},
                            "total": _COUNTS,
                            "rows": {"type": "array", "items": _COUNTS},
                            "by_category": {"type": "object", "additionalProperties": _COUNTS},
                            "by_severity": {"type": "object", "additionalProperties": _COUNTS},
                        },
                    },
                    "the rollup",
                ),
                "400": _err("bad filter or level"),
                "401": _err("not logged in"),
                "404": _err("area not in scope"),
            },
        }
    }


# --- campaign oversight (专项行动) ------------------------------------------------------------


def _add_campaigns(doc: dict) -> None:
    figures = {
        "type": "object",
        "description": "Dashboard figures of an area: the ledger's counts over the campaign's "
        "high-rises, plus surveyed buildings and survey coverage",
        "properties": {
            name: {"type": ["number", "null"] if name.endswith(("rate", "coverage")) else "integer"}
            for name in (
                "buildings", "surveyed", "survey_coverage", "inspected", "coverage", "found",
                "fixed_on_spot", "open", "overdue", "submitted", "closed", "rectified",
                "rectification_rate", "supervised", "rebound",
            )
        },
    }
    row = {
        "allOf": [
            figures,
            {"type": "object", "properties": {
                "code": {"type": "string"}, "name": {"type": "string"},
                "rank": {"type": ["integer", "null"]},
            }},
        ]
    }
    doc["paths"]["/campaigns/{id}/progress"] = {
        "get": {
            "summary": "A campaign's dashboard: current phase, totals, ranked areas, weekly "
            "trend, spot-check discrepancies and acceptance standings",
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                {"name": "area", "in": "query", "schema": {"type": "string"},
                 "description": "Area code in the caller's scope and the campaign's area "
                 "(default: the caller's area)"},
                {"name": "rank", "in": "query", "schema": {
                    "type": "string",
                    "enum": ["survey_coverage", "rectification_rate", "overdue"]},
                 "description": "Ranking (default: the current phase's measure)"},
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "campaign": {"type": "object"},
                            "area": {"type": "object"},
                            "today": {"type": "string", "format": "date"},
                            "phases": {"type": "array", "items": {"type": "object"}},
                            "current_phase": {"type": ["object", "null"]},
                            "totals": figures,
                            "level": {"type": "string"},
                            "rank_by": {"type": "string"},
                            "rows": {"type": "array", "items": row},
                            "weeks": {"type": "array", "items": {"type": "object", "properties": {
                                "starts_on": {"type": "string", "format": "date"},
                                "ends_on": {"type": "string", "format": "date"},
                                "found": {"type": "integer"},
                                "rectified": {"type": "integer"},
                                "surveyed": {"type": "integer"},
                                "survey_coverage": {"type": ["number", "null"]},
                            }}},
                            "spot_checks": {"type": "array", "items": {"type": "object"}},
                            "acceptance": {"type": "object"},
                        },
                    },
                    "the dashboard figures",
                ),
                "400": _err("bad ranking"),
                "401": _err("not logged in"),
                "403": _err("role may not see dashboards"),
                "404": _err("campaign or area not in scope"),
            },
        }
    }


# --- field capture: the checklist, photos, inspections -------------------------------------------


def _add_inspections(doc: dict) -> None:
    """What the phone app sends: the checklist it renders, photos ahead of a submission, and
    the inspection itself (idempotent on ``client_uuid``)."""
    invalid = {
        "description": "invalid input; ``errors`` by field name, ``kept`` photo references "
        "that were stored and may be sent again",
        "content": {"application/json": {"schema": {"allOf": [_ERROR, {
            "type": "object",
            "properties": {
                "errors": {"type": "object", "additionalProperties": {
                    "type": "array", "items": {"type": "string"}}},
                "kept": {"type": "object"},
            },
        }]}}},
    }
    refs = {"type": "array", "items": {"type": "string"},
            "description": "sha256 of photos already sent to /photos"}
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
            "client_uuid": {"type": "string", "format": "uuid",
                            "description": "idempotency key minted when the form opened"},
            "kind": {"type": "string",
                     "enum": ["survey", "patrol", "spot_check", "acceptance", "self_check"]},
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
                "200": _json({"type": "object", "properties": {
                    "id": {"type": "integer"}, "code": {"type": "string"},
                    "version": {"type": "string"},
                    "items": {"type": "array", "items": {"type": "object"}},
                }}, "the checklist"),
                "401": _err("not logged in"),
                "404": _err("no checklist loaded yet"),
            },
        }
    }
    doc["paths"]["/photos"] = {
        "post": {
            "summary": "Store one photo ahead of the submission that uses it (by sha256)",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["photo"],
                "properties": {"photo": {"type": "string", "format": "binary"}},
            }}}},
            "responses": {
                "200": _json(_PHOTO, "already stored"),
                "201": _json(_PHOTO, "stored"),
                "400": _err("malformed request"),
                "401": _err("not logged in"),
                "403": _err("role may not upload photos"),
                "413": _err("photo too large"),
                "422": _err("missing or unreadable photo"),
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
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/InspectionSubmission"}}}},
            "responses": {
                "200": _json(_SUBMITTED, "already submitted: the existing inspection"),
                "201": _json(_SUBMITTED, "recorded"),
                "400": _err("body is not a JSON object"),
                "401": _err("not logged in"),
                "403": _err("role may not inspect"),
                "404": _err("no such building in scope"),
                "409": _err("client_uuid already used for different content"),
                "413": _err("request too large"),
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
