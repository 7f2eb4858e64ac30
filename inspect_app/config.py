"""Configuration: defaults, then ``instance/config.py``, then ``INSPECT_*`` environment variables.

Keys operators set (each also as ``INSPECT_<KEY>``):

- ``DATABASE_URL``: SQLAlchemy URL; default a SQLite file in the instance folder.
- ``SECRET_KEY``: signs sessions and CSRF tokens; a random one is made and kept in the
  instance folder when none is given, so restarts do not log everybody out.
- ``PHOTO_DIR``: where photos are stored; default ``<instance>/photos``.
- ``TIMEZONE``: the district's time zone for dates and deadlines (default Asia/Shanghai).
"""

from __future__ import annotations

import secrets
from pathlib import Path

DEFAULTS: dict[str, object] = {
    "TIMEZONE": "Asia/Shanghai",
    "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
    "LANGUAGES": ["zh_Hans_CN", "en"],
    "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "PAGE_SIZE": 50,
    # Larger photos are refused before they are decoded (decompression bombs).
    "MAX_PHOTO_PIXELS": 50_000_000,
    # Days an inspection keeps a building's code out of grey when no campaign says otherwise.
    "CODE_VALIDITY_DAYS": 180,
}


def load(app, test_config: dict | None) -> None:
    """Fill ``app.config`` in order: defaults, instance file, environment, ``test_config``."""
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("INSPECT")
    else:
        app.config.from_mapping(test_config)

    instance = Path(app.instance_path)
    url = app.config.get("DATABASE_URL") or f"sqlite:///{instance / 'inspect_app.db'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config.setdefault("PHOTO_DIR", str(instance / "photos"))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance)
    # Cookies over HTTPS only when the deployment says it serves HTTPS.
    if app.config.get("HTTPS"):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True


def _instance_secret(instance: Path) -> str:
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
