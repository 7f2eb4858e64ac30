from flask_babel import lazy_gettext as _l
from wtforms import Form, IntegerField, StringField
from wtforms.validators import Length, NumberRange, Optional


class BuildingSearchForm(Form):
    """A GET form: nothing changes, so no CSRF token."""

    q = StringField(
        _l("搜索楼栋"),
        validators=[Optional(), Length(max=100, message=_l("搜索词太长"))],
        render_kw={"placeholder": _l("名称、地址或编码"), "type": "search"},
    )
    page = IntegerField(default=1, validators=[Optional(), NumberRange(min=1, max=100000)])
