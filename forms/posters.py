"""Printing fire safety code posters, and revoking a printed code."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form, RadioField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

SIZES = [SelectChoice("a4", _l("A4 海报")), SelectChoice("label", _l("小标签（A4 每页 21 张）"))]


class BatchPostersForm(Form):
    """A GET form: nothing changes, so no CSRF token. ``area`` choices are set by the view
    (the areas in the user's scope); empty means every building in scope."""

    area = SelectField(_l("街道或社区"), coerce=str, validators=[Optional()], validate_choice=False)
    size = RadioField(_l("规格"), choices=SIZES, default="a4", validators=[Optional()])


class RotateCodeForm(FlaskForm):
    """Only the CSRF token: the action is the button."""
