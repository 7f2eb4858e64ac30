"""Forms of campaign oversight: defining a campaign, drawing spot checks, recording an
acceptance verdict, listing supervision candidates, and the monthly summary's GET form.

Choices that depend on the data (areas, checklists, categories, streets, candidate hazards)
are filled in by the view before validating.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

PHASE_KINDS = [
    SelectChoice("mobilise", _l("动员部署")),
    SelectChoice("survey", _l("全面排查")),
    SelectChoice("rectify", _l("整治攻坚")),
    SelectChoice("consolidate", _l("巩固提升（逐栋验收）")),
    SelectChoice("other", _l("其他")),
]
PHASE_ROWS = 6
DEADLINE_ROWS = 4


class DayField(DateField):
    """A date typed as 年-月-日 (``type=date`` in the page); a wrong one says so."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("format", "%Y-%m-%d")
        render_kw = {"type": "date", **(kwargs.pop("render_kw", None) or {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as err:
            raise ValueError(_l("日期格式应为 年-月-日，例如 2023-04-30")) from err


class PhaseForm(Form):
    """One phase: its name, what it is for, and its end date (it starts the day after the
    previous one ends). A row left blank is ignored."""

    name = StringField(_l("阶段名称"), validators=[Optional(), Length(max=40)])
    code = SelectField(_l("阶段类型"), choices=PHASE_KINDS, validators=[Optional()])
    ends_on = DayField(_l("截止日期"), validators=[Optional()])


class DeadlineForm(Form):
    """A per-category deadline (e.g. water supply problems by 12-20). A blank row is ignored."""

    group = SelectField(_l("类别"), choices=[], validators=[Optional()], validate_choice=False)
    due_on = DayField(_l("整改期限"), validators=[Optional()])


class CampaignForm(FlaskForm):
    name = StringField(
        _l("专项行动名称"),
        validators=[DataRequired(message=_l("请填写专项行动名称")), Length(max=200)],
    )
    area = SelectField(_l("范围（区域）"), choices=[], validate_choice=False)
    checklist = SelectField(_l("检查表版本"), choices=[], validate_choice=False)
    starts_on = DayField(
        _l("开始日期"),
        validators=[InputRequired(message=_l("请填写开始日期（年-月-日）"))],
    )
    ends_on = DayField(
        _l("结束日期"),
        validators=[InputRequired(message=_l("请填写结束日期（年-月-日）"))],
    )
    phases = FieldList(FormField(PhaseForm), min_entries=PHASE_ROWS, max_entries=12)
    deadlines = FieldList(FormField(DeadlineForm), min_entries=DEADLINE_ROWS, max_entries=12)
    validity_days = IntegerField(
        _l("安全码有效期（天）"),
        validators=[
            InputRequired(message=_l("请填写安全码有效期（天）")),
            NumberRange(min=1, max=3650, message=_l("安全码有效期应在 1 到 3650 天之间")),
        ],
        render_kw={"inputmode": "numeric"},
    )
    sample_rate_public = DecimalField(
        _l("公共建筑抽查比例（%）"),
        places=1,
        validators=[
            InputRequired(message=_l("请填写公共建筑抽查比例")),
            NumberRange(min=0.1, max=100, message=_l("抽查比例应在 0.1%% 到 100%% 之间")),
        ],
        render_kw={"inputmode": "decimal"},
    )
    sample_rate_residential = DecimalField(
        _l("住宅建筑抽查比例（%）"),
        places=1,
        validators=[
            InputRequired(message=_l("请填写住宅建筑抽查比例")),
            NumberRange(min=0.1, max=100, message=_l("抽查比例应在 0.1%% 到 100%% 之间")),
        ],
        render_kw={"inputmode": "decimal"},
    )


class DrawForm(FlaskForm):
    """A spot-check draw (部门抽查) on one street."""

    street = SelectField(_l("街道（镇）"), choices=[], validate_choice=False)
    seed = StringField(
        _l("随机种子（可不填）"),
        validators=[Optional(), Length(max=20)],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    team = StringField(_l("联合检查组"), validators=[Optional(), Length(max=200)])
    due_on = DayField(_l("完成期限"), validators=[Optional()])


class AcceptanceForm(FlaskForm):
    """The verdict of the building's latest acceptance inspection (逐栋验收)."""

    inspection = HiddenField(validators=[DataRequired(message=_l("缺少验收检查，请刷新页面"))])
    note = TextAreaField(_l("验收意见"), validators=[Optional(), Length(max=1000)])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CandidatesForm(FlaskForm):
    """Candidate hazards to list for supervision, as ``<hazard id>:<version seen>``."""

    hazards = MultiCheckboxField(_l("隐患"), choices=[], validate_choice=False)


class CandidateFilterForm(Form):
    """GET: which area, and the overdue threshold (days past the deadline)."""

    area = StringField(_l("区域编码"), validators=[Optional(), Length(max=32)])
    overdue_days = IntegerField(
        _l("超期天数超过"),
        default=30,
        validators=[
            Optional(),
            NumberRange(min=0, max=365, message=_l("超期天数应在 0 到 365 之间")),
        ],
        render_kw={"inputmode": "numeric"},
    )


class MonthlyForm(Form):
    """GET: the month and the area of a monthly summary (工作小结)."""

    month = StringField(
        _l("月份"),
        validators=[DataRequired(message=_l("请选择月份")), Length(max=7)],
        render_kw={"type": "month", "placeholder": "2026-05"},
    )
    area = SelectField(_l("区域"), choices=[], validate_choice=False, validators=[Optional()])


class DashboardForm(Form):
    """GET: the area a dashboard is about and how its rows are ranked."""

    area = StringField(_l("区域编码"), validators=[Optional(), Length(max=32)])
    rank = SelectField(
        _l("排名依据"),
        choices=[
            SelectChoice("", _l("按当前阶段")),
            SelectChoice("survey_coverage", _l("排查覆盖率")),
            SelectChoice("rectification_rate", _l("整改率")),
            SelectChoice("overdue", _l("超期未整改（少者靠前）")),
        ],
        validators=[Optional()],
    )
