"""The rectification ledger (整改台账): hazards, their events (transitions; 409 when stale),
rollups."""

from __future__ import annotations

from .schema import ERROR, error_response, json_response

_HAZARD_ACTIONS = [
    "submit_evidence",
    "accept",
    "reject",
    "extend_deadline",
    "update_plan",
    "supervise",
]
_LEDGER_FILTERS = [
    {
        "name": "area",
        "in": "query",
        "schema": {"type": "string"},
        "description": "Area code in the caller's scope (default: the caller's area)",
    },
    {
        "name": "campaign",
        "in": "query",
        "schema": {"type": "integer"},
        "description": "Limit the period to the campaign's dates",
    },
    {
        "name": "start",
        "in": "query",
        "schema": {"type": "string", "format": "date"},
        "description": "Found on or after (district's local date)",
    },
    {
        "name": "end",
        "in": "query",
        "schema": {"type": "string", "format": "date"},
        "description": "Found on or before (district's local date)",
    },
    {
        "name": "status",
        "in": "query",
        "schema": {"type": "string", "enum": ["open", "submitted", "closed", "fixed_on_spot"]},
    },
    {"name": "category", "in": "query", "schema": {"type": "string"}},
    {
        "name": "severity",
        "in": "query",
        "schema": {"type": "string", "enum": ["minor", "general", "major"]},
    },
    {
        "name": "overdue",
        "in": "query",
        "schema": {"type": "boolean"},
        "description": "Only open hazards past their deadline",
    },
    {
        "name": "supervised",
        "in": "query",
        "schema": {"type": "boolean"},
        "description": "Only hazards listed for supervision (挂牌督办)",
    },
    {
        "name": "rebound",
        "in": "query",
        "schema": {"type": "boolean"},
        "description": "Only rebounds (反弹): same building and checklist item found again "
        "within REBOUND_DAYS after a closure",
    },
]
_COUNTS = {
    "type": "object",
    "properties": {
        name: {"type": "integer"}
        for name in (
            "buildings",
            "inspected",
            "found",
            "fixed_on_spot",
            "open",
            "overdue",
            "submitted",
            "closed",
            "supervised",
            "rebound",
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


def add_ledger(doc: dict) -> None:
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
                "description": 'The version the client saw (or send If-Match: "v<n>")',
            },
            "note": {"type": "string"},
            "reason": {"type": "string", "description": "reject, extend_deadline"},
            "deadline": {
                "type": "string",
                "format": "date",
                "description": "extend_deadline; supervise (rectification deadline)",
            },
            "photos": {
                "type": "array",
                "items": {"type": "string"},
                "description": "submit_evidence: sha256 of photos sent to /photos",
            },
            "responsible_party": {"type": "string"},
            "measures": {"type": "string"},
            "funding": {"type": "string"},
            "issues": {"type": "string", "description": "supervise: the notice's issues"},
            "plan": {"type": "string", "description": "supervise: rectification plan"},
            "responsible_person": {"type": "string"},
            "responsible_unit": {"type": "string"},
            "report_by": {
                "type": "string",
                "format": "date",
                "description": "supervise: written report due",
            },
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
                "200": json_response(paged, "a page of hazards"),
                "400": error_response("bad filter"),
                "401": error_response("not logged in"),
                "404": error_response("area not in scope"),
            },
        }
    }
    doc["paths"]["/hazards/{id}"] = {
        "get": {
            "summary": 'One hazard with its history (ETag: "v<version>")',
            "parameters": [hazard_id],
            "responses": {
                "200": json_response(ref, "the hazard"),
                "401": error_response("not logged in"),
                "404": error_response("no such hazard in scope"),
            },
        }
    }
    doc["paths"]["/hazards/{id}/events"] = {
        "post": {
            "summary": "A transition of the hazard, recorded as an event",
            "parameters": [
                hazard_id,
                {
                    "name": "If-Match",
                    "in": "header",
                    "schema": {"type": "string"},
                    "description": '"v<version>" when the body has no version',
                },
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Transition"}},
                    "multipart/form-data": {"schema": {"$ref": "#/components/schemas/Transition"}},
                },
            },
            "responses": {
                "201": json_response(
                    {
                        "type": "object",
                        "properties": {
                            "event": {"$ref": "#/components/schemas/HazardEvent"},
                            "hazard": ref,
                        },
                    },
                    "done; the hazard's new state",
                ),
                "400": error_response("body is not JSON"),
                "401": error_response("not logged in"),
                "403": error_response("the role may not do this to this hazard"),
                "404": error_response("no such hazard in scope"),
                "409": {
                    "description": "stale version or impossible from the current status; "
                    "the body's hazard is the current state and nothing was changed",
                    "content": {
                        "application/json": {
                            "schema": {
                                "allOf": [ERROR, {"type": "object", "properties": {"hazard": ref}}]
                            }
                        }
                    },
                },
                "422": error_response("invalid input (errors by field)"),
            },
        }
    }
    doc["paths"]["/ledger"] = {
        "get": {
            "summary": "The ledger rollup (整改台账) of an area, grouped by a lower level",
            "parameters": [
                {
                    "name": "level",
                    "in": "query",
                    "schema": {
                        "type": "string",
                        "enum": ["street", "community", "grid", "building"],
                    },
                },
                *_LEDGER_FILTERS,
            ],
            "responses": {
                "200": json_response(
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
                "400": error_response("bad filter or level"),
                "401": error_response("not logged in"),
                "404": error_response("area not in scope"),
            },
        }
    }
