"""The resident's hazard report on a building's public page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import MultipleFileField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp


class ReportForm(FlaskForm):
    description = TextAreaField(
        _l("发现了什么问题"),
        validators=[
            DataRequired(_l("请写下您发现的问题")),
            Length(min=5, max=1000, message=_l("请用 5 到 1000 个字描述问题")),
        ],
        render_kw={
            "rows": 4,
            "placeholder": _l("例如：5 楼楼道里有电动自行车在充电"),
            "maxlength": 1000,
        },
    )
    photos = MultipleFileField(_l("照片（选填，最多 3 张）"), render_kw={"accept": "image/*"})
    contact = StringField(
        _l("联系电话（选填，仅工作人员可见）"),
        validators=[
            Optional(),
            Regexp(r"^[0-9+\- ]{5,40}$", message=_l("请填写有效的电话号码，或留空")),
        ],
        render_kw={"inputmode": "tel", "autocomplete": "tel", "maxlength": 40},
    )
