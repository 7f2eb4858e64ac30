from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import UUID, DataRequired, Length, NumberRange, Optional

KINDS = [
    SelectChoice("survey", _l("街镇排查")),
    SelectChoice("patrol", _l("日常巡查")),
    SelectChoice("spot_check", _l("部门抽查")),
    SelectChoice("acceptance", _l("验收检查")),
    SelectChoice("self_check", _l("单位自查")),
]


class FindingForm(Form):
    """The answer to one checklist item, and what happens to it if it is a hazard."""

    item = HiddenField(validators=[DataRequired()])
    result = RadioField(
        _l("结果"),
        choices=[
            SelectChoice("pass", _l("合格")),
            SelectChoice("fail", _l("隐患")),
            SelectChoice("na", _l("不适用")),
        ],
        validators=[Optional()],
        validate_choice=False,
    )
    value = DecimalField(
        _l("读数"),
        validators=[
            Optional(),
            NumberRange(min=0, max=100000, message=_l("读数必须是 0 到 100000 之间的数")),
        ],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    note = TextAreaField(_l("备注"), validators=[Optional(), Length(max=1000)])
    photos = MultipleFileField(
        _l("照片"), render_kw={"accept": "image/*", "capture": "environment"}
    )
    photo_refs = FieldList(HiddenField())
    disposition = RadioField(
        _l("处理方式"),
        choices=[SelectChoice("plan", _l("列入整改清单")), SelectChoice("fixed", _l("当场整改"))],
        validators=[Optional()],
        validate_choice=False,
    )
    after_photos = MultipleFileField(
        _l("整改后照片"), render_kw={"accept": "image/*", "capture": "environment"}
    )
    after_photo_refs = FieldList(HiddenField())
    responsible_party = StringField(_l("责任方"), validators=[Optional(), Length(max=120)])
    measures = TextAreaField(_l("整改措施"), validators=[Optional(), Length(max=2000)])
    deadline = DateField(_l("整改期限"), validators=[Optional()], format="%Y-%m-%d")
    funding = StringField(_l("资金来源"), validators=[Optional(), Length(max=120)])


class FollowupForm(Form):
    """A re-inspection of one open hazard: still there, or fixed with evidence."""

    hazard = HiddenField(validators=[DataRequired()])
    outcome = RadioField(
        _l("复查结果"),
        choices=[SelectChoice("present", _l("仍存在")), SelectChoice("fixed", _l("已整改"))],
        validators=[Optional()],
        validate_choice=False,
    )
    note = TextAreaField(_l("备注"), validators=[Optional(), Length(max=1000)])
    photos = MultipleFileField(
        _l("整改照片"), render_kw={"accept": "image/*", "capture": "environment"}
    )
    photo_refs = FieldList(HiddenField())


class InspectionForm(FlaskForm):
    client_uuid = HiddenField(validators=[DataRequired(), UUID(message=_l("表单编号无效"))])
    kind = SelectField(_l("检查类型"), choices=KINDS, validators=[DataRequired()])
    started_at = HiddenField()
    latitude = DecimalField(
        validators=[Optional(), NumberRange(min=-90, max=90)], widget=HiddenField.widget
    )
    longitude = DecimalField(
        validators=[Optional(), NumberRange(min=-180, max=180)], widget=HiddenField.widget
    )
    note = TextAreaField(_l("检查备注"), validators=[Optional(), Length(max=2000)])
    findings = FieldList(FormField(FindingForm), max_entries=500)
    followups = FieldList(FormField(FollowupForm), max_entries=500)
