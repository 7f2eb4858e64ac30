"""Administration forms: areas, users, buildings and API tokens. Choices that depend on the
administrator's scope (parent areas, areas, roles) are filled in by the view."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Form,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from .registry import BuildingFactsForm

LEVELS = [
    SelectChoice("city", _l("市")),
    SelectChoice("district", _l("区县")),
    SelectChoice("street", _l("街镇")),
    SelectChoice("community", _l("社区")),
    SelectChoice("grid", _l("网格")),
]


class AreaForm(FlaskForm):
    parent = SelectField(_l("上级区域"), coerce=int, validators=[InputRequired()])
    code = StringField(
        _l("区域编码"),
        validators=[DataRequired(_l("请填写区域编码")), Length(max=32)],
        render_kw={"autocapitalize": "none", "autocomplete": "off"},
    )
    name = StringField(_l("名称"), validators=[DataRequired(_l("请填写名称")), Length(max=100)])
    level = SelectField(_l("层级"), choices=LEVELS, validators=[DataRequired()])


class AreaRenameForm(FlaskForm):
    name = StringField(_l("名称"), validators=[DataRequired(_l("请填写名称")), Length(max=100)])


class UserSearchForm(Form):
    """A GET form: nothing changes, so no CSRF token."""

    q = StringField(
        _l("搜索用户"),
        validators=[Optional(), Length(max=64)],
        render_kw={"placeholder": _l("用户名、姓名或电话"), "type": "search"},
    )
    page = IntegerField(default=1, validators=[Optional(), NumberRange(min=1, max=100000)])


class UserEditForm(FlaskForm):
    display_name = StringField(
        _l("姓名"), validators=[DataRequired(_l("请填写姓名")), Length(max=64)]
    )
    phone = StringField(
        _l("手机号"), validators=[Optional(), Length(max=40)], render_kw={"inputmode": "tel"}
    )
    role = SelectField(_l("角色"), validators=[DataRequired()])
    area = SelectField(_l("管辖区域（物业不选）"), coerce=int, validators=[Optional()])
    buildings = TextAreaField(
        _l("管理楼栋编码（仅物业，多个用空格或逗号分隔）"),
        validators=[Optional(), Length(max=4000)],
    )


class UserCreateForm(UserEditForm):
    username = StringField(
        _l("用户名"),
        validators=[DataRequired(_l("请填写用户名")), Length(max=64)],
        render_kw={"autocapitalize": "none", "autocomplete": "off"},
    )
    password = PasswordField(
        _l("初始密码（留空则自动生成）"),
        validators=[Optional(), Length(min=8, max=128, message=_l("密码至少 8 位"))],
        render_kw={"autocomplete": "new-password"},
    )


class PasswordResetForm(FlaskForm):
    password = PasswordField(
        _l("新密码（留空则自动生成）"),
        validators=[Optional(), Length(min=8, max=128, message=_l("密码至少 8 位"))],
        render_kw={"autocomplete": "new-password"},
    )


class ConfirmForm(FlaskForm):
    """A button that changes state: only the CSRF token."""


class BuildingAdminSearchForm(Form):
    """A GET form: nothing changes, so no CSRF token."""

    q = StringField(
        _l("搜索楼栋"),
        validators=[Optional(), Length(max=100)],
        render_kw={"placeholder": _l("名称、地址或编码"), "type": "search"},
    )
    status = SelectField(
        _l("状态"),
        choices=[
            SelectChoice("active", _l("在用")),
            SelectChoice("retired", _l("已停用")),
            SelectChoice("all", _l("全部")),
        ],
        default="active",
    )
    page = IntegerField(default=1, validators=[Optional(), NumberRange(min=1, max=100000)])


class BuildingEditForm(BuildingFactsForm):
    name = StringField(_l("楼栋名称"), validators=[DataRequired(_l("请填写名称")), Length(max=120)])
    address = StringField(_l("地址"), validators=[DataRequired(_l("请填写地址")), Length(max=200)])
    area_id = SelectField(_l("所属区域"), coerce=int, validators=[InputRequired()])
    built_year = IntegerField(
        _l("建成年份"),
        validators=[Optional(), NumberRange(min=1900, max=2100, message=_l("年份不正确"))],
        render_kw={"inputmode": "numeric"},
    )
    class_i_by_use = BooleanField(_l("按使用功能属一类高层（医疗建筑、重要公共建筑等）"))
    note = TextAreaField(_l("修改说明"), validators=[Optional(), Length(max=1000)])


class TokenForm(FlaskForm):
    username = StringField(
        _l("用户名"),
        validators=[DataRequired(_l("请填写用户名")), Length(max=64)],
        render_kw={"autocapitalize": "none", "autocomplete": "off"},
    )
    name = StringField(
        _l("用途"),
        validators=[DataRequired(_l("请填写用途")), Length(max=64)],
        render_kw={"placeholder": _l("例如：值班大屏")},
    )
