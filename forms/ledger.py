"""The ledger's filters: a GET form (nothing changes, so no CSRF token).

Category and campaign choices depend on the data; the view fills them in before validating.
"""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, Form, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional

LEVELS = [
    SelectChoice("", _l("下一级")),
    SelectChoice("street", _l("街道（镇）")),
    SelectChoice("community", _l("社区")),
    SelectChoice("grid", _l("网格")),
    SelectChoice("building", _l("楼栋")),
]
STATUSES = [
    SelectChoice("", _l("全部状态")),
    SelectChoice("open", _l("待整改")),
    SelectChoice("submitted", _l("待验收")),
    SelectChoice("closed", _l("已销号")),
    SelectChoice("fixed_on_spot", _l("当场整改")),
]
SEVERITIES = [
    SelectChoice("", _l("全部等级")),
    SelectChoice("minor", _l("轻微")),
    SelectChoice("general", _l("一般")),
    SelectChoice("major", _l("重大")),
]


class LedgerFilterForm(Form):
    area = StringField(_l("区域编码"), validators=[Optional(), Length(max=32)])
    level = SelectField(_l("汇总到"), choices=LEVELS, validators=[Optional()])
    campaign = SelectField(_l("专项行动"), choices=[], validators=[Optional()])
    start = DateField(
        _l("发现日期从"),
        format="%Y-%m-%d",
        validators=[Optional()],
        render_kw={"type": "date"},
    )
    end = DateField(
        _l("至"), format="%Y-%m-%d", validators=[Optional()], render_kw={"type": "date"}
    )
    status = SelectField(_l("状态"), choices=STATUSES, validators=[Optional()])
    category = SelectField(_l("类别"), choices=[], validators=[Optional()])
    severity = SelectField(_l("等级"), choices=SEVERITIES, validators=[Optional()])
    overdue = BooleanField(_l("仅超期"))
    supervised = BooleanField(_l("仅挂牌督办"))
    rebound = BooleanField(_l("仅反弹"))
    page = IntegerField(default=1, validators=[Optional(), NumberRange(min=1, max=100000)])
