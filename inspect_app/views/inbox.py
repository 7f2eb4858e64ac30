"""Every user's inbox (收件箱): messages newest first, open one (marks it read), mark all
read, and choose e-mail delivery. The header's unread count comes from here too."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms.webhooks import EmailSettingsForm

from .. import notifications
from ..auth import notification_or_404
from ..codes import local_time
from ..db import db

bp = Blueprint("inbox", __name__)


@bp.app_context_processor
def _unread():
    """``inbox_unread()`` for the header; one query, and only when a page asks for it."""

    def inbox_unread() -> int:
        if not current_user.is_authenticated:
            return 0
        return notifications.unread_count(db.session, current_user)

    return {"inbox_unread": inbox_unread}


def _settings_form() -> EmailSettingsForm:
    form = EmailSettingsForm(prefix="mail")
    if not form.is_submitted():
        row = notifications.settings_for(db.session, current_user)
        form.email.data = row.email
        form.email_digest.data = row.email_digest
    return form


def _page(form: EmailSettingsForm, status: int = 200):
    unread_only = request.args.get("unread") == "1"
    page = db.paginate(
        notifications.inbox(current_user, unread_only=unread_only),
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    items = [(n, *notifications.describe(n)) for n in page.items]
    return (
        render_template(
            "inbox/index.html",
            page=page,
            items=items,
            unread_only=unread_only,
            form=form,
            mail_enabled=bool(current_app.config.get("MAIL_SERVER")),
            when=local_time,
        ),
        status,
    )


@bp.get("/inbox")
@login_required
def index():
    return _page(_settings_form())


@bp.get("/inbox/<int:notification_id>")
@login_required
def open_message(notification_id: int):
    """Mark the message read and go to what it is about (a page that checks scope again)."""
    message = notification_or_404(current_user, notification_id)
    notifications.mark_read(db.session, current_user, message.id)
    target = notifications.target_url(message)
    db.session.commit()
    return redirect(target)


@bp.post("/inbox/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    message = notification_or_404(current_user, notification_id)
    notifications.mark_read(db.session, current_user, message.id)
    db.session.commit()
    return redirect(url_for("inbox.index", unread=request.args.get("unread")))


@bp.post("/inbox/read-all")
@login_required
def mark_all_read():
    changed = notifications.mark_read(db.session, current_user)
    db.session.commit()
    flash(_("已将 %(n)s 条消息标为已读", n=changed))
    return redirect(url_for("inbox.index"))


@bp.post("/inbox/settings")
@login_required
def settings():
    form = _settings_form()
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        notifications.save_settings(
            db.session, current_user, email=form.email.data, digest=form.email_digest.data
        )
    except ValueError as err:
        db.session.rollback()
        form.email.errors = [*form.email.errors, str(err)]
        return _page(form, 422)
    db.session.commit()
    flash(_("邮件提醒设置已保存"))
    return redirect(url_for("inbox.index"))
