"""Configuration: defaults, then ``instance/config.py``, then ``INSPECT_*`` environment variables.

Keys operators set (each also as ``INSPECT_<KEY>``):

- ``DATABASE_URL``: SQLAlchemy URL; default a SQLite file in the instance folder.
- ``SECRET_KEY``: signs sessions and CSRF tokens; a random one is made and kept in the
  instance folder when none is given, so restarts do not log everybody out.
- ``PHOTO_DIR``: where photos are stored; default ``<instance>/photos``.
- ``PHOTO_STORE``: ``local`` (default: files in ``PHOTO_DIR``) or ``s3`` (an S3-compatible
  bucket, so app servers keep no state). With ``s3``: ``S3_BUCKET`` (required), ``S3_PREFIX``
  (default ``photos/``), ``S3_ENDPOINT_URL`` (for MinIO and other non-AWS services),
  ``S3_REGION``, ``S3_ADDRESSING_STYLE`` (``path`` or ``virtual``); credentials come from the
  standard AWS variables (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``) or
  ``~/.aws/``, never from this configuration.
- ``TIMEZONE``: the district's time zone for dates and deadlines (default Asia/Shanghai).
- ``PUBLIC_BASE_URL``: the public address QR codes on posters point to; needed by CLI commands
  that print posters, since they have no request to take the address from.
- ``AUDIT_LOG``: where the audit log goes (see ``audit.py``): a file path, or ``-`` (default)
  for standard error.
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
    # A hazard found on the same building and checklist item within this many days after an
    # earlier one was closed is a rebound (反弹) in the ledger.
    "REBOUND_DAYS": 90,
    # Fire safety code: the public address printed in QR codes (e.g. "https://xf.example.gov.cn");
    # unset, the address of the request that prints them.
    "PUBLIC_BASE_URL": None,
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are believed (0: none).
    "PROXY_HOPS": 0,
    # Residents' reports from the public page: at most (count, per seconds) from one network
    # address and for one building; a photo larger than this many bytes is refused.
    "REPORT_LIMIT_PER_ADDRESS": (10, 900),
    "REPORT_LIMIT_PER_BUILDING": (30, 3600),
    "REPORT_MAX_PHOTO_BYTES": 15 * 1024 * 1024,
    # Failed logins: at most (count, per seconds) for one account and from one network address;
    # beyond that the login form answers 429 until the window ends.
    "LOGIN_LIMIT_PER_ACCOUNT": (10, 900),
    "LOGIN_LIMIT_PER_ADDRESS": (50, 900),
    # Inbox reminders (send-reminders): days before a deadline to remind, and days past it
    # after which each level of the chain hears of an overdue hazard.
    "REMINDER_DAYS": [7, 1],
    "OVERDUE_ESCALATION": {"grid": 1, "street": 7, "fire": 15},
    # E-mail digest of inbox messages: off unless MAIL_SERVER is set.
    "MAIL_SERVER": None,
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_FROM": "inspect-app@localhost",
    # Webhook deliveries: per-request timeout, attempts before giving up, backoff (doubling).
    "WEBHOOK_TIMEOUT_SECONDS": 10,
    "WEBHOOK_MAX_ATTEMPTS": 8,
    "WEBHOOK_RETRY_BASE_SECONDS": 60,
    "WEBHOOK_RETRY_MAX_SECONDS": 6 * 3600,
    "AUDIT_LOG": "-",
    # SQLite only: FULL makes every commit durable against power loss; NORMAL is faster and
    # only survives crashes of the process.
    "SQLITE_SYNCHRONOUS": "FULL",
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
    # A wrong photo store setting stops the server at start, not at the first upload.
    from .photo_stores import check_store_config

    check_store_config(app.config)
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
