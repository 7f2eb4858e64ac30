"""Registering a webhook receiver, and the inbox's e-mail settings."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

# The values are the app's webhook event names (a test keeps the two lists equal).
EVENTS = [
    SelectChoice("hazard.created", _l("新隐患（含当场整改）")),
    SelectChoice("hazard.changed", _l("隐患变更（提交整改、退回、延期、督办等）")),
    SelectChoice("hazard.closed", _l("隐患验收销号")),
    SelectChoice("hazard.overdue", _l("隐患超期")),
    SelectChoice("building.colour_changed", _l("楼栋消防安全码颜色变化")),
    SelectChoice("inspection.submitted", _l("检查提交")),
    SelectChoice("report.received", _l("收到居民举报")),
]


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class WebhookForm(FlaskForm):
    url = StringField(
        _l("接收地址"),
        validators=[Length(max=500)],
        render_kw={"placeholder": "https://", "inputmode": "url", "autocomplete": "off"},
    )
    description = StringField(_l("说明"), validators=[Optional(), Length(max=200)])
    events = CheckboxesField(_l("推送的事件"), choices=EVENTS, default=[])
    active = BooleanField(_l("启用"), default=True)


class EmailSettingsForm(FlaskForm):
    email = StringField(
        _l("邮箱地址"),
        validators=[
            Optional(),
            Length(max=254),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("邮箱地址格式不正确")),
        ],
        render_kw={"inputmode": "email", "autocomplete": "email"},
    )
    email_digest = BooleanField(_l("每次提醒任务运行后，把未读消息汇总发到我的邮箱"))
