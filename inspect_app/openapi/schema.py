"""Pieces every part of the description uses: the error body and JSON responses."""

from __future__ import annotations

ERROR = {"$ref": "#/components/schemas/Error"}


def error_response(description: str) -> dict:
    """A 4xx response with the JSON error body."""
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


def json_response(schema: dict, description: str) -> dict:
    """A response with a JSON body of ``schema``."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}
