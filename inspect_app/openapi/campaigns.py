"""Campaign oversight (专项行动): progress of a campaign."""

from __future__ import annotations

from .schema import error_response, json_response


def add_campaigns(doc: dict) -> None:
    figures = {
        "type": "object",
        "description": "Dashboard figures of an area: the ledger's counts over the campaign's "
        "high-rises, plus surveyed buildings and survey coverage",
        "properties": {
            name: {"type": ["number", "null"] if name.endswith(("rate", "coverage")) else "integer"}
            for name in (
                "buildings",
                "surveyed",
                "survey_coverage",
                "inspected",
                "coverage",
                "found",
                "fixed_on_spot",
                "open",
                "overdue",
                "submitted",
                "closed",
                "rectified",
                "rectification_rate",
                "supervised",
                "rebound",
            )
        },
    }
    row = {
        "allOf": [
            figures,
            {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "name": {"type": "string"},
                    "rank": {"type": ["integer", "null"]},
                },
            },
        ]
    }
    doc["paths"]["/campaigns/{id}/progress"] = {
        "get": {
            "summary": "A campaign's dashboard: current phase, totals, ranked areas, weekly "
            "trend, spot-check discrepancies and acceptance standings",
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                {
                    "name": "area",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "Area code in the caller's scope and the campaign's area "
                    "(default: the caller's area)",
                },
                {
                    "name": "rank",
                    "in": "query",
                    "schema": {
                        "type": "string",
                        "enum": ["survey_coverage", "rectification_rate", "overdue"],
                    },
                    "description": "Ranking (default: the current phase's measure)",
                },
            ],
            "responses": {
                "200": json_response(
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
                            "weeks": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "starts_on": {"type": "string", "format": "date"},
                                        "ends_on": {"type": "string", "format": "date"},
                                        "found": {"type": "integer"},
                                        "rectified": {"type": "integer"},
                                        "surveyed": {"type": "integer"},
                                        "survey_coverage": {"type": ["number", "null"]},
                                    },
                                },
                            },
                            "spot_checks": {"type": "array", "items": {"type": "object"}},
                            "acceptance": {"type": "object"},
                        },
                    },
                    "the dashboard figures",
                ),
                "400": error_response("bad ranking"),
                "401": error_response("not logged in"),
                "403": error_response("role may not see dashboards"),
                "404": error_response("campaign or area not in scope"),
            },
        }
    }
