"""Locale selection: Chinese (zh-Hans) unless the user chose another language.

Source strings are written in Chinese, the default language, so the default needs no catalog;
``translations/en`` carries the English.
"""

from __future__ import annotations

from flask import current_app, has_request_context, session
from flask_babel import Babel

babel = Babel()


def select_locale() -> str:
    """The locale kept in the session by the language switch, else the configured default."""
    chosen = session.get("locale") if has_request_context() else None
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]
