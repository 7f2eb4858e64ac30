"""Forms of a hazard's transitions and of supervision listings (挂牌督办).

Every transition form carries the ``version`` of the hazard the page showed: the server
refuses a stale one with 409 and shows the current state, keeping what was typed.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FieldList,
    HiddenField,
    IntegerField,
    MultipleFileField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget


class TransitionForm(FlaskForm):
    version = IntegerField(
        widget=HiddenInput(),
        validators=[
            InputRequired(message=_l("缺少版本号，请刷新页面后重试")),
            NumberRange(min=1, message=_l("版本号无效")),
        ],
    )


class EvidenceForm(TransitionForm):
    """Rectification evidence (整改材料): after-photos and a note."""

    note = TextAreaField(_l("整改说明"), validators=[Optional(), Length(max=1000)])
    photos = MultipleFileField(
        _l("整改后照片"), render_kw={"accept": "image/*", "capture": "environment"}
    )
    photo_refs = FieldList(HiddenField(), max_entries=20)


class AcceptForm(TransitionForm):
    """Acceptance (验收销号)."""

    note = TextAreaField(_l("验收意见"), validators=[Optional(), Length(max=1000)])


class RejectForm(TransitionForm):
    """Failed acceptance: back to the responsible party with the reason."""

    reason = TextAreaField(
        _l("退回原因"),
        validators=[DataRequired(message=_l("请填写退回原因")), Length(max=1000)],
    )


class ExtendForm(TransitionForm):
    """A later deadline (延期) with the reason."""

    deadline = DateField(
        _l("新的整改期限"),
        format="%Y-%m-%d",
        validators=[InputRequired(message=_l("请填写新的整改期限（年-月-日）"))],
    )
    reason = TextAreaField(
        _l("延期理由"), validators=[DataRequired(message=_l("请填写延期理由")), Length(max=1000)]
    )


class PlanForm(TransitionForm):
    """The plan line (一楼一策) the street office owns."""

    responsible_party = StringField(
        _l("责任方"), validators=[DataRequired(message=_l("请填写责任方")), Length(max=120)]
    )
    measures = TextAreaField(_l("整改措施"), validators=[Optional(), Length(max=2000)])
    funding = StringField(_l("资金来源"), validators=[Optional(), Length(max=120)])
    note = StringField(_l("修改说明"), validators=[Optional(), Length(max=500)])


class NoticeFields(FlaskForm):
    """The supervision notice (督办通知书)."""

    issues = TextAreaField(
        _l("存在的问题"),
        validators=[DataRequired(message=_l("请填写存在的问题")), Length(max=4000)],
    )
    plan = TextAreaField(
        _l("整改方案和要求"),
        validators=[DataRequired(message=_l("请填写整改方案")), Length(max=4000)],
    )
    responsible_person = StringField(
        _l("整改责任人"),
        validators=[DataRequired(message=_l("请填写整改责任人")), Length(max=120)],
    )
    responsible_unit = StringField(_l("责任单位"), validators=[Optional(), Length(max=120)])
    deadline = DateField(
        _l("整改期限"),
        format="%Y-%m-%d",
        validators=[InputRequired(message=_l("请填写整改期限（年-月-日）"))],
    )
    report_by = DateField(
        _l("书面报告日期"),
        format="%Y-%m-%d",
        validators=[InputRequired(message=_l("请填写书面报告日期（年-月-日）"))],
    )


class SuperviseForm(NoticeFields):
    """List hazards of one building for supervision (挂牌督办). Each choice is
    ``"<hazard id>:<version>"`` so that a stale selection is refused."""

    hazards = SelectMultipleField(
        _l("列入督办的隐患"),
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[DataRequired(message=_l("请至少选择一项隐患"))],
    )


class ConfirmForm(NoticeFields):
    """The detachment confirms a suspected major fire hazard after collective discussion: the
    notice fields open a supervision. ``elements`` are the element codes the page showed."""

    elements = HiddenField(validators=[DataRequired()])
    note = TextAreaField(
        _l("集体讨论意见"),
        validators=[DataRequired(message=_l("请填写判定意见")), Length(max=2000)],
    )


class DismissForm(FlaskForm):
    """The detachment dismisses the flag for the elements the page showed."""

    elements = HiddenField(validators=[DataRequired()])
    note = TextAreaField(
        _l("排除理由"),
        validators=[DataRequired(message=_l("请填写排除理由")), Length(max=2000)],
    )


class SupervisionReportForm(FlaskForm):
    note = TextAreaField(
        _l("书面报告内容"),
        validators=[DataRequired(message=_l("请填写书面报告的主要内容")), Length(max=4000)],
    )


class SupervisionCloseForm(FlaskForm):
    outcome = TextAreaField(
        _l("督办结果"), validators=[DataRequired(message=_l("请填写督办结果")), Length(max=4000)]
    )
