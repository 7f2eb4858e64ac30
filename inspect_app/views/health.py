from flask import Blueprint, jsonify
from sqlalchemy import text

from ..db import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """``{"status": "ok"}`` after a database round-trip; 503 when the database is unreachable."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        return jsonify(status="error", message="database unreachable"), 503
    return jsonify(status="ok")
