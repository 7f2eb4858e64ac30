"""Verifying a resident's report: confirm it as a hazard on the plan, or dismiss it."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

CATEGORIES = [
    SelectChoice("LIFE", _l("生命通道")),
    SelectChoice("FAC", _l("消防设施")),
    SelectChoice("ELEC", _l("用电用气")),
    SelectChoice("BLDG", _l("建筑防火")),
    SelectChoice("MGMT", _l("日常管理")),
    SelectChoice("AWARE", _l("宣传教育")),
]
SEVERITIES = [
    SelectChoice("minor", _l("轻微")),
    SelectChoice("general", _l("一般")),
    SelectChoice("major", _l("重大")),
]


class ConfirmReportForm(FlaskForm):
    category = SelectField(_l("类别"), choices=CATEGORIES, validators=[DataRequired()])
    severity = RadioField(
        _l("严重程度"),
        choices=SEVERITIES,
        default="general",
        validators=[DataRequired(_l("请选择严重程度"))],
    )
    description = TextAreaField(
        _l("隐患描述"),
        validators=[DataRequired(_l("请填写隐患描述")), Length(max=2000)],
        render_kw={"rows": 3},
    )
    responsible_party = StringField(_l("责任方"), validators=[Optional(), Length(max=120)])
    measures = TextAreaField(_l("整改措施"), validators=[Optional(), Length(max=2000)])
    deadline = DateField(_l("整改期限"), validators=[Optional()], format="%Y-%m-%d")
    note = TextAreaField(_l("核实情况"), validators=[Optional(), Length(max=1000)])


class DismissReportForm(FlaskForm):
    note = TextAreaField(
        _l("不予采纳的原因"),
        validators=[DataRequired(_l("请写明不予采纳的原因")), Length(max=1000)],
        render_kw={"rows": 3},
    )
