import math
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from forms.auth import LoginForm

from .. import audit, ratelimits
from ..auth import authenticate, existing_username, record_login
from ..db import db

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths; anything else goes home."""
    if not target:
        return url_for("buildings.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("buildings.index")
    return target


def _login_keys(username: str) -> list[tuple[str, str]]:
    """The rate-limit keys of a login attempt with their settings: the account (any case,
    surrounding spaces ignored) and the sender's address, both as keyed digests."""
    secret = current_app.config["SECRET_KEY"]
    account = ratelimits.client_key(secret, "account:" + username.strip().lower())
    address = ratelimits.client_key(secret, request.remote_addr)
    return [
        (f"login:account:{account}", "LOGIN_LIMIT_PER_ACCOUNT"),
        (f"login:addr:{address}", "LOGIN_LIMIT_PER_ADDRESS"),
    ]


def _locked_for(keys: list[tuple[str, str]]) -> int:
    """Seconds until the next login attempt may be made (0: now). Only failures count."""
    wait = 0
    for key, setting in keys:
        limit, window = (int(v) for v in current_app.config[setting])
        if ratelimits.count(db.session, key, window=window) >= limit:
            verdict = ratelimits.hit(db.session, key, limit=limit, window=window)
            wait = max(wait, verdict.retry_after)
    return wait


def _count_failure(keys: list[tuple[str, str]]) -> None:
    for key, setting in keys:
        limit, window = (int(v) for v in current_app.config[setting])
        ratelimits.hit(db.session, key, limit=limit, window=window)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form. Failed attempts count per account and per address (``LOGIN_LIMIT_*``);
    past either limit the form answers 429 with the minutes to wait, without checking the
    password, so guessing cannot go on by spreading over accounts or over addresses."""
    if current_user.is_authenticated:
        return redirect(url_for("buildings.index"))
    form = LoginForm()
    if form.validate_on_submit():
        keys = _login_keys(form.username.data)
        wait = _locked_for(keys)
        if wait:
            db.session.commit()  # refused attempts keep counting
            minutes = max(1, math.ceil(wait / 60))
            notice = _(
                "登录尝试次数过多，请 %(n)s 分钟后再试。如忘记密码，请联系管理员。", n=minutes
            )
            response = current_app.make_response(
                (render_template("login.html", form=form, notice=notice), 429)
            )
            response.headers["Retry-After"] = str(wait)
            return response
        user = authenticate(form.username.data, form.password.data)
        if user is None:
            _count_failure(keys)
            db.session.commit()
            # The typed name is logged only when it is an account: people type passwords
            # into the name field, and those must not reach the log.
            audit.deny("login_failed", account=existing_username(form.username.data))
            form.password.errors.append(_("用户名或密码不正确"))
        else:
            # A fresh session on login: nothing from before the login carries over.
            locale = session.get("locale")
            session.clear()
            if locale:
                session["locale"] = locale
            login_user(user, remember=form.remember.data)
            record_login(user)
            audit.set_actor(user)
            audit.write("login")
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", form=form), 200 if not form.errors else 400


@bp.post("/logout")
def logout():
    audit.write("logout")
    logout_user()
    session.clear()
    flash(_("已退出登录"))
    return redirect(url_for("auth.login"))


@bp.post("/language/<code>")
def language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["locale"] = code
    return redirect(_safe_next(request.form.get("next")))
