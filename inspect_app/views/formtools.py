"""Putting domain errors back on WTForms fields, by field name; reading ids from form values."""

from wtforms import Form
from wtforms.fields import Field


def digits(value) -> bool:
    """Whether ``value`` is a non-empty run of ASCII digits, safe for ``int()`` (``str.isdigit``
    also accepts "²" and other digits that ``int()`` refuses)."""
    text = str(value or "")
    return text.isascii() and text.isdigit()


def _walk(fields):
    for field in fields:
        yield field
        if hasattr(field, "entries"):
            yield from _walk(field.entries)
        if hasattr(field, "form") and isinstance(field.form, Form):
            yield from _walk(field.form)


def attach_errors(form: Form, errors: dict[str, list[str]], kept=None) -> None:
    """Add each message to the field of that name (``form.form_errors`` when there is none),
    and append kept photo references to their ``*_refs`` lists."""
    by_name: dict[str, Field] = {f.name: f for f in _walk(form)}
    for name, messages in errors.items():
        field = by_name.get(name)
        target = form.form_errors if field is None else field.errors
        if isinstance(target, tuple):
            target = field.errors = list(target)
        target.extend(messages)
    for name, shas in (kept or {}).items():
        refs = by_name.get(name)
        if refs is not None:
            for sha in shas:
                refs.append_entry(sha)
