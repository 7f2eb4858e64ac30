"""Administration: areas, users, buildings and API tokens, each limited to the administrator's
own area subtree (``auth.area_scope``, ``auth.user_scope``, ``auth.building_scope``)."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from forms.admin import (
    AreaForm,
    AreaRenameForm,
    BuildingAdminSearchForm,
    BuildingEditForm,
    ConfirmForm,
    PasswordResetForm,
    TokenForm,
    UserCreateForm,
    UserEditForm,
    UserSearchForm,
)

from .. import areas, building_changes, registry, users
from ..auth import (
    area_or_404,
    area_scope,
    assignable_roles,
    building_or_404,
    building_scope,
    issue_token,
    managed_user_or_404,
    require,
    token_or_404,
    user_scope,
)
from ..db import db
from ..labels import ROLE
from ..models import ApiToken, Area, Building, Inspection, User
from .formtools import attach_errors
from .registry import outcome_message

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@require("manage_users")
def index():
    counts = {
        "areas": db.session.scalar(select(func.count(Area.id)).where(area_scope(current_user))),
        "users": db.session.scalar(select(func.count(User.id)).where(user_scope(current_user))),
        "buildings": db.session.scalar(
            select(func.count(Building.id)).where(building_scope(current_user))
        ),
        "tokens": db.session.scalar(
            select(func.count(ApiToken.id))
            .join(User, ApiToken.user_id == User.id)
            .where(ApiToken.revoked_at.is_(None), user_scope(current_user))
        ),
    }
    return render_template("admin/index.html", counts=counts)


# --- areas ----------------------------------------------------------------------------------


def _area_choices(tree) -> list[tuple[int, str]]:
    return [(a.id, f"{'　' * depth}{a.name}（{a.code}）") for a, depth in tree]


@bp.route("/areas", methods=["GET", "POST"])
@require("manage_areas")
def area_list():
    tree = areas.tree(db.session, current_user)
    form = AreaForm()
    form.parent.choices = _area_choices([(a, d) for a, d in tree if a.level != "grid"])
    status = 200
    if form.validate_on_submit():
        parent = area_or_404(current_user, form.parent.data)
        try:
            area = areas.create_area(
                db.session,
                actor=current_user,
                parent=parent,
                code=form.code.data,
                name=form.name.data,
                level=form.level.data,
            )
        except areas.Invalid as err:
            db.session.rollback()
            attach_errors(form, err.errors)
            status = 422
        else:
            db.session.commit()
            flash(_("已添加区域：%(name)s", name=area.name))
            return redirect(url_for("admin.area_list"))
    elif form.is_submitted():
        status = 422
    return render_template("admin/areas.html", tree=tree, form=form), status


@bp.route("/areas/<int:area_id>", methods=["GET", "POST"])
@require("manage_areas")
def area_edit(area_id: int):
    area = area_or_404(current_user, area_id)
    form = AreaRenameForm(obj=area)
    status = 200
    if form.validate_on_submit():
        try:
            areas.rename_area(db.session, area, form.name.data)
        except areas.Invalid as err:
            db.session.rollback()
            attach_errors(form, err.errors)
            status = 422
        else:
            db.session.commit()
            flash(_("已保存"))
            return redirect(url_for("admin.area_list"))
    elif form.is_submitted():
        status = 422
    return render_template("admin/area_edit.html", area=area, form=form), status


# --- users ----------------------------------------------------------------------------------


def _user_choices(form) -> None:
    form.role.choices = [(r, ROLE[r]) for r in assignable_roles(current_user)]
    form.area.choices = [(0, _("（不选）"))] + _area_choices(areas.tree(db.session, current_user))


def _scope_args(form) -> dict:
    area = area_or_404(current_user, form.area.data) if form.area.data else None
    return {
        "display_name": form.display_name.data,
        "phone": form.phone.data,
        "role": form.role.data,
        "area": area,
        "building_codes": users.split_codes(form.buildings.data),
    }


@bp.get("/users")
@require("manage_users")
def user_list():
    form = UserSearchForm(request.args)
    query = select(User).where(user_scope(current_user)).order_by(User.username)
    q = form.q.data.strip() if form.validate() and form.q.data else ""
    if q:
        query = query.where(
            or_(
                User.username.contains(q, autoescape=True),
                User.display_name.contains(q, autoescape=True),
                User.phone.contains(q, autoescape=True),
            )
        )
    page = db.paginate(
        query, page=form.page.data or 1, per_page=current_app.config["PAGE_SIZE"], error_out=False
    )
    return render_template("admin/users.html", form=form, page=page, q=q)


@bp.route("/users/new", methods=["GET", "POST"])
@require("manage_users")
def user_new():
    form = UserCreateForm()
    _user_choices(form)
    status = 200
    if form.validate_on_submit():
        try:
            user, generated = users.create_user(
                db.session,
                actor=current_user,
                username=form.username.data,
                password=form.password.data,
                **_scope_args(form),
            )
        except users.Invalid as err:
            db.session.rollback()
            attach_errors(form, err.errors)
            status = 422
        else:
            db.session.commit()
            if generated:
                # Shown once, in this response only: never redirected, flashed or stored.
                return render_template("admin/password.html", user=user, password=generated)
            flash(_("已创建用户 %(name)s", name=user.username))
            return redirect(url_for("admin.user_edit", user_id=user.id))
    elif form.is_submitted():
        status = 422
    return render_template("admin/user_new.html", form=form), status


def _render_user(user, form, reset=None, status=200):
    return (
        render_template(
            "admin/user_edit.html",
            user=user,
            form=form,
            reset=reset or PasswordResetForm(),
            confirm=ConfirmForm(),
            tokens=[t for t in user.tokens if t.revoked_at is None],
        ),
        status,
    )


def _edit_form(user, posted: bool) -> UserEditForm:
    """The edit form of ``user``: the posted data when ``posted``, else the stored values."""
    if posted:
        form = UserEditForm()
    else:
        form = UserEditForm(formdata=None, obj=user)
        form.area.data = user.area_id or 0
        form.buildings.data = " ".join(b.code for b in user.managed_buildings)
    _user_choices(form)
    if user.role not in assignable_roles(current_user):
        form.role.choices.append((user.role, ROLE[user.role]))
    return form


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@require("manage_users")
def user_edit(user_id: int):
    user = managed_user_or_404(current_user, user_id)
    form = _edit_form(user, posted=request.method == "POST")
    if form.validate_on_submit():
        try:
            users.update_user(db.session, user, actor=current_user, **_scope_args(form))
        except users.Invalid as err:
            db.session.rollback()
            attach_errors(form, err.errors)
            return _render_user(managed_user_or_404(current_user, user_id), form, status=422)
        db.session.commit()
        flash(_("已保存"))
        return redirect(url_for("admin.user_edit", user_id=user.id))
    return _render_user(user, form, status=422 if form.is_submitted() else 200)


@bp.post("/users/<int:user_id>/password")
@require("manage_users")
def user_password(user_id: int):
    user = managed_user_or_404(current_user, user_id)
    reset = PasswordResetForm()
    if reset.validate_on_submit():
        try:
            generated = users.reset_password(db.session, user, password=reset.password.data)
        except users.Invalid as err:
            db.session.rollback()
            attach_errors(reset, err.errors)
        else:
            db.session.commit()
            if generated:
                return render_template("admin/password.html", user=user, password=generated)
            flash(_("已重置密码，该用户的所有登录已失效"))
            return redirect(url_for("admin.user_edit", user_id=user.id))
    return _render_user(user, _edit_form(user, posted=False), reset, 422)


@bp.post("/users/<int:user_id>/active")
@require("manage_users")
def user_active(user_id: int):
    user = managed_user_or_404(current_user, user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("admin.user_edit", user_id=user.id))
    active = request.form.get("active") == "1"
    try:
        users.set_active(db.session, user, active, actor=current_user)
    except users.Invalid as err:
        db.session.rollback()
        for messages in err.errors.values():
            for message in messages:
                flash(message)
        return redirect(url_for("admin.user_edit", user_id=user.id))
    db.session.commit()
    flash(_("已启用该用户") if active else _("已停用该用户，其登录和 API 令牌均已失效"))
    return redirect(url_for("admin.user_edit", user_id=user.id))


# --- buildings ------------------------------------------------------------------------------


@bp.get("/buildings")
@require("manage_buildings")
def building_list():
    form = BuildingAdminSearchForm(request.args)
    valid = form.validate()
    status = form.status.data if valid else "active"
    query = select(Building).where(building_scope(current_user)).order_by(Building.code)
    if status == "active":
        query = query.where(Building.retired_at.is_(None))
    elif status == "retired":
        query = query.where(Building.retired_at.is_not(None))
    q = form.q.data.strip() if valid and form.q.data else ""
    if q:
        query = query.where(
            or_(
                Building.name.contains(q, autoescape=True),
                Building.address.contains(q, autoescape=True),
                Building.code.contains(q, autoescape=True),
            )
        )
    page = db.paginate(
        query, page=form.page.data or 1, per_page=current_app.config["PAGE_SIZE"], error_out=False
    )
    return render_template("admin/buildings.html", form=form, page=page, q=q, status=status)


def _render_building(building, form, status=200):
    inspected = (
        db.session.scalar(
            select(func.count(Inspection.id)).where(Inspection.building_id == building.id)
        )
        or 0
    )
    return (
        render_template(
            "admin/building_edit.html",
            building=building,
            form=form,
            confirm=ConfirmForm(),
            inspected=inspected,
        ),
        status,
    )


@bp.route("/buildings/<int:building_id>", methods=["GET", "POST"])
@require("manage_buildings")
def building_edit(building_id: int):
    building = building_or_404(current_user, building_id)
    form = BuildingEditForm(obj=None if request.method == "POST" else building)
    form.area_id.choices = _area_choices(areas.tree(db.session, current_user))
    if form.validate_on_submit():
        area_or_404(current_user, form.area_id.data)
        try:
            outcome = building_changes.apply_direct(
                db.session,
                building,
                {name: form[name].data for name in building_changes.ADMIN_FIELDS},
                user=current_user,
                note=form.note.data,
            )
        except building_changes.Invalid as err:
            db.session.rollback()
            attach_errors(form, err.errors)
            return _render_building(building_or_404(current_user, building_id), form, 422)
        db.session.commit()
        if outcome is None:
            flash(_("没有修改任何信息"))
        else:
            flash(outcome_message(outcome))
        return redirect(url_for("admin.building_edit", building_id=building.id))
    return _render_building(building, form, 422 if form.is_submitted() else 200)


@bp.post("/buildings/<int:building_id>/retire")
@require("manage_buildings")
def building_retire(building_id: int):
    building = building_or_404(current_user, building_id)
    if ConfirmForm().validate_on_submit():
        registry.retire_building(db.session, building)
        db.session.commit()
        flash(_("已停用：该楼栋不再出现在楼栋列表中，记录全部保留"))
    return redirect(url_for("admin.building_edit", building_id=building.id))


@bp.post("/buildings/<int:building_id>/restore")
@require("manage_buildings")
def building_restore(building_id: int):
    building = building_or_404(current_user, building_id)
    if ConfirmForm().validate_on_submit():
        registry.restore_building(db.session, building)
        db.session.commit()
        flash(_("已恢复启用"))
    return redirect(url_for("admin.building_edit", building_id=building.id))


@bp.post("/buildings/<int:building_id>/delete")
@require("manage_buildings")
def building_delete(building_id: int):
    """Delete a building entered by mistake; one with any inspection (or other record) is
    never deleted, only retired."""
    building = building_or_404(current_user, building_id)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("admin.building_edit", building_id=building.id))
    code = building.code
    try:
        registry.delete_building(db.session, building)
    except registry.InUse as err:
        db.session.rollback()
        flash(str(err))
        return redirect(url_for("admin.building_edit", building_id=building_id))
    db.session.commit()
    flash(_("已删除楼栋 %(code)s", code=code))
    return redirect(url_for("admin.building_list"))


# --- API tokens -------------------------------------------------------------------------------


def _render_tokens(form, status=200):
    tokens = db.session.scalars(
        select(ApiToken)
        .join(User, ApiToken.user_id == User.id)
        .where(user_scope(current_user))
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())
    ).all()
    return (
        render_template("admin/tokens.html", form=form, tokens=tokens, confirm=ConfirmForm()),
        status,
    )


@bp.route("/tokens", methods=["GET", "POST"])
@require("manage_tokens")
def tokens():
    form = TokenForm()
    if not form.validate_on_submit():
        return _render_tokens(form, 422 if form.is_submitted() else 200)
    user = db.session.scalar(
        select(User).where(User.username == form.username.data.strip(), user_scope(current_user))
    )
    if user is None or not user.active:
        form.username.errors.append(_("用户不存在、已停用或不在您的管辖范围内"))
        return _render_tokens(form, 422)
    token = issue_token(user, form.name.data.strip())
    db.session.commit()
    # Shown once, in this response only; only its digest is stored.
    return render_template("admin/token_created.html", user=user, token=token)


@bp.post("/tokens/<int:token_id>/revoke")
@require("manage_tokens")
def token_revoke(token_id: int):
    token = token_or_404(current_user, token_id)
    if ConfirmForm().validate_on_submit() and users.revoke_token(db.session, token):
        db.session.commit()
        flash(_("已吊销令牌 %(prefix)s…", prefix=token.prefix))
    return redirect(url_for("admin.tokens"))
