"""Request-wide behaviour: CSRF, error pages (HTML for people, JSON for the API), headers."""

from __future__ import annotations

from flask import Flask, abort, jsonify, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from .audit import deny, request_id

csrf = CSRFProtect()

MESSAGES = {
    400: _l("请求有误，请检查后重试。"),
    401: _l("请先登录。"),
    403: _l("您没有权限执行此操作。"),
    404: _l("找不到该页面，或您无权查看。"),
    405: _l("不支持该请求方式。"),
    409: _l("数据已被他人修改，请刷新后重试。"),
    413: _l("上传的内容太大，请压缩照片或分批上传。"),
    429: _l("操作太频繁，请稍后再试。"),
    500: _l("服务器出错了，请稍后重试。"),
}

ERROR_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    429: "too_many_requests",
    500: "server_error",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _error_response(code: int, message: str):
    # The request id lets a user quote the exact failure and the audit/error log find it.
    rid = request_id()
    if _wants_json():
        return jsonify(error=ERROR_NAMES.get(code, "error"), message=message, request_id=rid), code
    return render_template("error.html", code=code, message=message, request_id=rid), code


class _IdConverter(IntegerConverter):
    """``<int:…>`` in URLs: ids stop at 2**31 - 1, the largest INTEGER column value, so a
    longer number matches no route (404) instead of reaching the database, which cannot bind
    it (SQLite overflows past 2**63)."""

    def __init__(self, map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits, min, max, signed)


def _percent(value: float | None) -> str:
    """A ratio as a percentage with one decimal; "—" for none."""
    return "—" if value is None else f"{value * 100:.1f}%"


def register_web(app: Flask) -> None:
    """Install error handlers, security headers and template helpers on ``app``."""
    app.url_map.converters["int"] = _IdConverter
    # Behind reverse proxies the client's address and scheme arrive in X-Forwarded-* headers;
    # they are believed for exactly PROXY_HOPS proxies (0: the app faces clients directly), so
    # per-address limits count residents, not the proxy, and nobody can forge an address.
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    @app.before_request
    def _reject_malformed_input():
        """Input no view can take is answered 400 before any view sees it: a NUL character in a
        query string, a form or a JSON body (PostgreSQL refuses NUL in text, so it would fail
        deep in a query), and a multipart part whose name cannot be read (a quote, a backslash
        or a line break in it arrives keyed ``None``, on which WTForms' ``FieldList`` fails)."""
        if any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
            abort(400)
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return
        if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
            if None in request.form or None in request.files:
                abort(400)
            if any("\x00" in k or "\x00" in v for k, v in request.form.items(multi=True)):
                abort(400)
        elif request.is_json and b"\\u0000" in request.get_data():
            abort(400)

    @app.errorhandler(CSRFError)
    def _csrf_error(err: CSRFError):
        deny("csrf")
        return _error_response(400, _("表单已过期或缺少安全令牌，请刷新页面后重新提交。"))

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        code = err.code or 500
        return _error_response(code, str(MESSAGES.get(code, err.description or "")))

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        app.logger.exception("unhandled error on %s (request %s)", request.path, request_id())
        return _error_response(500, str(MESSAGES[500]))

    from . import labels
    from .auth import can
    from .codes import local_date, local_time

    app.jinja_env.filters["localdate"] = local_date
    app.jinja_env.filters["localtime"] = local_time
    app.jinja_env.filters["percent"] = _percent

    app.jinja_env.globals.update(
        labels=labels,
        can=can,
        get_locale=get_locale,
        languages={"zh_Hans_CN": "中文", "en": "English"},
    )

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
            "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        )
        response.headers.setdefault("X-Frame-Options", "DENY")
        if app.config.get("HTTPS"):
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        # The browser fetches the service worker script on its own (its User-Agent may differ
        # from the page's): loading the user there would trip session protection.
        if not request.path.startswith(("/static/", "/sw.js")) and current_user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
        return response
