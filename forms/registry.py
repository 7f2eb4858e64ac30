"""Registry forms: the import upload, proposals of building facts and their decision, the
blind-spot listing (盲区清零)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DecimalField,
    Form,
    HiddenField,
    IntegerField,
    MultipleFileField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import UUID, DataRequired, InputRequired, Length, NumberRange, Optional

USES = [
    SelectChoice("residential", _l("住宅")),
    SelectChoice("public", _l("公共建筑")),
    SelectChoice("mixed", _l("商住混合")),
]


class ImportForm(FlaskForm):
    file = FileField(
        _l("台账文件（.xlsx 或 .csv）"),
        validators=[FileRequired(_l("请选择要导入的 .xlsx 或 .csv 文件"))],
        render_kw={
            "accept": ".xlsx,.csv,application/vnd.openxmlformats-officedocument"
            ".spreadsheetml.sheet,text/csv"
        },
    )
    check = SubmitField(_l("仅校验，不导入"))
    submit = SubmitField(_l("校验并导入"))


class BuildingFactsForm(FlaskForm):
    """The facts people on site collect (实名制排查): who manages the building, who answers
    for its fire safety, its size and use, and the systems it has."""

    management_unit = StringField(
        _l("管理单位（物业服务企业或统一管理人）"),
        validators=[Optional(), Length(max=120, message=_l("不能超过 120 个字"))],
    )
    management_contact = StringField(
        _l("管理单位联系人及电话"),
        validators=[Optional(), Length(max=40, message=_l("不能超过 40 个字"))],
    )
    fire_manager_name = StringField(
        _l("消防安全管理人"),
        validators=[Optional(), Length(max=40, message=_l("不能超过 40 个字"))],
    )
    fire_manager_phone = StringField(
        _l("消防安全管理人电话"),
        validators=[Optional(), Length(max=40, message=_l("不能超过 40 个字"))],
        render_kw={"inputmode": "tel", "autocomplete": "off"},
    )
    use = SelectField(_l("使用性质"), choices=USES, validators=[DataRequired()])
    height_m = DecimalField(
        _l("建筑高度（米）"),
        places=2,
        validators=[
            InputRequired(_l("请填写建筑高度")),
            NumberRange(min=0.01, max=1000, message=_l("建筑高度必须大于 0 米且不超过 1000 米")),
        ],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    storeys = IntegerField(
        _l("地上层数"),
        validators=[
            InputRequired(_l("请填写地上层数")),
            NumberRange(min=1, max=200, message=_l("地上层数必须在 1 到 200 之间")),
        ],
        render_kw={"inputmode": "numeric"},
    )
    underground_storeys = IntegerField(
        _l("地下层数"),
        default=0,
        validators=[
            InputRequired(_l("请填写地下层数（没有填 0）")),
            NumberRange(min=0, max=20, message=_l("地下层数必须在 0 到 20 之间")),
        ],
        render_kw={"inputmode": "numeric"},
    )
    multi_owner = BooleanField(_l("多业主或多使用人"))
    has_sprinklers = BooleanField(_l("自动喷水灭火系统"))
    has_fire_alarm_system = BooleanField(_l("火灾自动报警系统"))
    has_control_room = BooleanField(_l("消防控制室"))
    has_pressure_stabilizer = BooleanField(_l("消防稳压设施"))
    has_refuge_floor = BooleanField(_l("避难层"))
    has_fire_elevator = BooleanField(_l("消防电梯"))
    has_gas_suppression = BooleanField(_l("气体灭火系统"))
    has_assembly_occupancy = BooleanField(_l("人员密集场所"))


class BuildingChangeForm(BuildingFactsForm):
    client_uuid = HiddenField(validators=[DataRequired(), UUID(message=_l("表单编号无效"))])
    note = TextAreaField(
        _l("说明（信息来源、核实情况）"),
        validators=[Optional(), Length(max=1000, message=_l("不能超过 1000 个字"))],
    )
    photos = MultipleFileField(
        _l("照片（可选，例如消防安全责任公示牌）"),
        render_kw={"accept": "image/*", "capture": "environment"},
    )


class DecisionForm(FlaskForm):
    note = TextAreaField(
        _l("意见（退回时必填）"),
        validators=[Optional(), Length(max=1000, message=_l("不能超过 1000 个字"))],
    )
    accept = SubmitField(_l("采纳并更新台账"))
    reject = SubmitField(_l("退回"))


BLIND_SPOT_KINDS = [
    SelectChoice("no_unified_manager", _l("多业主无统一管理人")),
    SelectChoice("no_management_unit", _l("无管理单位")),
    SelectChoice("no_fire_manager", _l("未明确消防安全管理人")),
]


class BlindSpotForm(Form):
    """A GET form: nothing changes, so no CSRF token."""

    kind = SelectField(
        _l("类别"), choices=BLIND_SPOT_KINDS, default="no_unified_manager", validate_choice=True
    )
    page = IntegerField(default=1, validators=[Optional(), NumberRange(min=1, max=100000)])


class ChangeListForm(Form):
    """A GET form: which proposals to list."""

    status = SelectField(
        _l("状态"),
        choices=[
            SelectChoice("pending", _l("待处理")),
            SelectChoice("accepted", _l("已采纳")),
            SelectChoice("rejected", _l("已退回")),
        ],
        default="pending",
    )
    page = IntegerField(default=1, validators=[Optional(), NumberRange(min=1, max=100000)])
