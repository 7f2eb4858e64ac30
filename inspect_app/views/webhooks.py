"""The administrator's webhook pages: register receivers, see the delivery log (status,
attempts, last error), test, rotate the secret, queue a failed delivery again."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, func, select

from forms.webhooks import EVENTS, WebhookForm

from .. import webhooks
from ..auth import require, webhook_or_404, webhook_scope
from ..codes import local_time, local_today
from ..db import db
from ..models import Webhook, WebhookDelivery

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")

LOG_SIZE = 50


def _own() -> set:
    return webhooks.own_addresses(current_app.config, request.host, request.scheme)


def _counts(hook_ids: list[int]) -> dict[int, dict[str, int]]:
    if not hook_ids:
        return {}
    rows = db.session.execute(
        select(
            WebhookDelivery.webhook_id,
            func.sum(case((WebhookDelivery.status == "pending", 1), else_=0)),
            func.sum(case((WebhookDelivery.status == "failed", 1), else_=0)),
            func.sum(case((WebhookDelivery.status == "delivered", 1), else_=0)),
        )
        .where(WebhookDelivery.webhook_id.in_(hook_ids))
        .group_by(WebhookDelivery.webhook_id)
    )
    return {
        hook_id: {"pending": int(p or 0), "failed": int(f or 0), "delivered": int(d or 0)}
        for hook_id, p, f, d in rows
    }


def _index(form: WebhookForm, status: int = 200):
    hooks = db.session.scalars(
        select(Webhook).where(webhook_scope(current_user)).order_by(Webhook.id)
    ).all()
    return (
        render_template(
            "webhooks/index.html",
            hooks=hooks,
            counts=_counts([h.id for h in hooks]),
            form=form,
            labels_={c.value: c.label for c in EVENTS},
        ),
        status,
    )


def _attach(form: WebhookForm, err: webhooks.WebhookError) -> None:
    target = getattr(form, err.field, None) if err.field else None
    if target is None:
        form.form_errors.append(err.message)
    else:
        target.errors = [*target.errors, err.message]


@bp.get("")
@require("manage_webhooks")
def index():
    return _index(WebhookForm())


@bp.post("")
@require("manage_webhooks")
def create():
    form = WebhookForm()
    if not form.validate_on_submit():
        return _index(form, 422)
    try:
        hook = webhooks.create(
            db.session,
            actor=current_user,
            url=form.url.data,
            description=form.description.data,
            events=form.events.data,
            own=_own(),
            today=local_today(),
        )
    except webhooks.WebhookError as err:
        db.session.rollback()
        _attach(form, err)
        return _index(form, 422)
    db.session.commit()
    flash(_("已登记接收地址。请把签名密钥配置到接收方。"))
    return redirect(url_for("webhooks.show", webhook_id=hook.id))


def _show(hook: Webhook, form: WebhookForm, status: int = 200):
    status_filter = request.args.get("status")
    log = select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
    if status_filter in ("pending", "delivered", "failed"):
        log = log.where(WebhookDelivery.status == status_filter)
    deliveries = db.session.scalars(log.order_by(WebhookDelivery.id.desc()).limit(LOG_SIZE)).all()
    return (
        render_template(
            "webhooks/show.html",
            hook=hook,
            form=form,
            deliveries=deliveries,
            counts=_counts([hook.id]).get(hook.id, {}),
            status_filter=status_filter,
            when=local_time,
            labels_={c.value: c.label for c in EVENTS},
        ),
        status,
    )


@bp.get("/<int:webhook_id>")
@require("manage_webhooks")
def show(webhook_id: int):
    hook = webhook_or_404(current_user, webhook_id)
    form = WebhookForm(obj=hook)
    return _show(hook, form)


@bp.post("/<int:webhook_id>")
@require("manage_webhooks")
def update(webhook_id: int):
    hook = webhook_or_404(current_user, webhook_id)
    form = WebhookForm()
    if not form.validate_on_submit():
        return _show(hook, form, 422)
    try:
        webhooks.change(
            db.session,
            hook,
            url=form.url.data,
            description=form.description.data,
            events=form.events.data,
            active=form.active.data,
            own=_own(),
            today=local_today(),
        )
    except webhooks.WebhookError as err:
        db.session.rollback()
        hook = webhook_or_404(current_user, webhook_id)
        _attach(form, err)
        return _show(hook, form, 422)
    db.session.commit()
    flash(_("已保存"))
    return redirect(url_for("webhooks.show", webhook_id=hook.id))


@bp.post("/<int:webhook_id>/rotate")
@require("manage_webhooks")
def rotate(webhook_id: int):
    hook = webhook_or_404(current_user, webhook_id)
    webhooks.rotate_secret(db.session, hook)
    db.session.commit()
    flash(_("已生成新的签名密钥；尚未发送的推送将使用新密钥签名。"))
    return redirect(url_for("webhooks.show", webhook_id=hook.id))


@bp.post("/<int:webhook_id>/ping")
@require("manage_webhooks")
def ping(webhook_id: int):
    hook = webhook_or_404(current_user, webhook_id)
    webhooks.queue_ping(db.session, hook)
    db.session.commit()
    flash(_("已加入发送队列，将由推送任务（send-webhooks）发送；结果见下方记录。"))
    return redirect(url_for("webhooks.show", webhook_id=hook.id))


@bp.post("/<int:webhook_id>/deliveries/<int:delivery_id>/retry")
@require("manage_webhooks")
def retry(webhook_id: int, delivery_id: int):
    hook = webhook_or_404(current_user, webhook_id)
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.webhook_id != hook.id:
        abort(404)
    try:
        webhooks.requeue(db.session, delivery)
    except webhooks.WebhookError as err:
        db.session.rollback()
        flash(err.message)
        return redirect(url_for("webhooks.show", webhook_id=hook.id))
    db.session.commit()
    flash(_("已重新加入发送队列"))
    return redirect(url_for("webhooks.show", webhook_id=hook.id))
