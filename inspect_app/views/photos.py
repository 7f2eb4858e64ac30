from flask import Blueprint, Response, abort, current_app
from flask_login import current_user

from ..auth import photo_or_404, require
from ..photo_stores import store_from_config

bp = Blueprint("photos", __name__)


def _send(photo_id: int, thumb: bool) -> Response:
    photo = photo_or_404(current_user, photo_id)
    try:
        data = store_from_config(current_app.config).read(photo.sha256, thumb=thumb)
    except FileNotFoundError:
        abort(404)
    # Always a re-encoded JPEG: never served as anything a browser could run.
    response = Response(data, mimetype="image/jpeg")
    response.headers["Content-Disposition"] = "inline"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/photos/<int:photo_id>")
@require("view_buildings")
def show(photo_id: int):
    return _send(photo_id, thumb=False)


@bp.get("/photos/<int:photo_id>/thumb")
@require("view_buildings")
def thumb(photo_id: int):
    return _send(photo_id, thumb=True)
