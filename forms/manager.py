"""A property manager's self-service: the public commitment and rectification evidence."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, MultipleFileField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp


class CommitmentForm(FlaskForm):
    text = TextAreaField(
        _l("公示承诺"),
        validators=[
            DataRequired(_l("请填写承诺内容")),
            Length(max=1000, message=_l("承诺内容最多 1000 字")),
        ],
        render_kw={"rows": 8, "maxlength": 1000},
    )


class EvidenceForm(FlaskForm):
    """Photos after the fix and a note; ``version`` is the hazard's version the page showed."""

    photos = MultipleFileField(
        _l("整改后照片（1 至 6 张）"), render_kw={"accept": "image/*", "capture": "environment"}
    )
    note = TextAreaField(
        _l("整改说明"),
        validators=[
            DataRequired(_l("请说明做了哪些整改")),
            Length(max=1000, message=_l("整改说明最多 1000 字")),
        ],
        render_kw={"rows": 4, "maxlength": 1000},
    )
    version = HiddenField(validators=[DataRequired(), Regexp(r"^\d{1,9}$")])
