"""The English catalog: compiled, complete and consistent with the Chinese source strings.

Source strings are written in Chinese; ``translations/en`` carries the English. Whoever adds or
changes a string runs ``bash scripts/i18n.sh`` (extract, update the .po, compile the .mo),
translates the new entries in the .po, and runs ``bash scripts/i18n.sh compile``.
"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LC = ROOT / "inspect_app" / "translations" / "en" / "LC_MESSAGES"
PO = LC / "messages.po"
MO = LC / "messages.mo"
HOW_TO_FIX = (
    "run `bash scripts/i18n.sh`, fill in the empty msgstr (and clear any fuzzy flag) in "
    f"{PO.relative_to(ROOT)}, then run `bash scripts/i18n.sh compile`"
)
# A printf conversion as Python's % operator reads it: %(name)s, %s, %d, %%…
CONVERSION = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")


def _load_po():
    with PO.open("rb") as f:
        return read_po(f)


def _load_mo():
    with MO.open("rb") as f:
        return read_mo(f)


def _key(message):
    msgid = message.id[0] if isinstance(message.id, (list, tuple)) else message.id
    return (msgid, message.context)


def _forms(value) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _translated(message) -> bool:
    return bool(message.string) and all(_forms(message.string)) and not message.fuzzy


def _entries(catalog):
    """Every real message of ``catalog``: not the header, not obsolete ones."""
    return [m for m in catalog if m.id]


def _extract_keywords() -> dict:
    """The keywords scripts/i18n.sh passes to ``pybabel extract`` on top of babel's defaults."""
    script = (ROOT / "scripts" / "i18n.sh").read_text(encoding="utf-8")
    extra = re.findall(r"(?:-k|--keywords?)[ =]+([A-Za-z_][\w]*)", script)
    assert extra, "scripts/i18n.sh passes no -k keywords: update this test with the new way"
    keywords = dict(DEFAULT_KEYWORDS)
    keywords.update({name: None for name in extra})
    return keywords


def _source_messages() -> dict:
    """The messages of the source as ``pybabel extract -F babel.cfg`` finds them right now:
    key (msgid, context) → the files that use it."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f, str(ROOT / "babel.cfg"))
    found: dict = {}
    for filename, _lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=_extract_keywords()
    ):
        msgid = message[0] if isinstance(message, (list, tuple)) else message
        if msgid:
            found.setdefault((msgid, context), set()).add(filename)
    return found


def _describe(key, where=None) -> str:
    msgid, context = key
    text = repr(msgid) + (f" (context {context!r})" if context else "")
    return text + (f"  [{', '.join(sorted(where))}]" if where else "")


def test_compiled_catalog_matches_the_po():
    """The committed .mo holds exactly the translated entries of the .po."""
    po = {_key(m): _forms(m.string) for m in _entries(_load_po()) if _translated(m)}
    mo = {_key(m): _forms(m.string) for m in _entries(_load_mo())}
    only_po = sorted(set(po) - set(mo), key=str)
    only_mo = sorted(set(mo) - set(po), key=str)
    differ = sorted((k for k in set(po) & set(mo) if po[k] != mo[k]), key=str)
    assert not (only_po or only_mo or differ), (
        "messages.mo is out of date with messages.po; run `bash scripts/i18n.sh compile`.\n"
        f"translated in .po but not in .mo: {[_describe(k) for k in only_po]}\n"
        f"in .mo but not translated in .po: {[_describe(k) for k in only_mo]}\n"
        f"different msgstr: {[_describe(k) for k in differ]}"
    )


def test_every_source_string_has_an_english_translation():
    """Every string in the source (as extracted now) has a non-fuzzy English translation."""
    catalog = _load_po()
    entries = {_key(m): m for m in _entries(catalog)}
    source = _source_messages()
    assert source, "extraction found no strings: babel.cfg or scripts/i18n.sh changed?"

    not_in_po = sorted((k for k in source if k not in entries), key=str)
    untranslated = sorted(
        (k for k, m in entries.items() if not (m.string and all(_forms(m.string)))), key=str
    )
    fuzzy = sorted((k for k, m in entries.items() if m.fuzzy), key=str)
    problems = []
    if not_in_po:
        problems.append(
            f"{len(not_in_po)} source strings are not in the .po yet:\n  "
            + "\n  ".join(_describe(k, source[k]) for k in not_in_po)
        )
    if untranslated:
        problems.append(
            f"{len(untranslated)} .po entries have no translation:\n  "
            + "\n  ".join(_describe(k, source.get(k)) for k in untranslated)
        )
    if fuzzy:
        problems.append(
            f"{len(fuzzy)} .po entries are marked fuzzy:\n  "
            + "\n  ".join(_describe(k, source.get(k)) for k in fuzzy)
        )
    assert not problems, f"English catalog incomplete; {HOW_TO_FIX}.\n" + "\n".join(problems)


def test_placeholders_match_between_msgid_and_msgstr():
    catalog = _load_po()
    mismatched = []
    for message in _entries(catalog):
        if not message.string:
            continue
        ids = _forms(message.id)
        expected = sorted(CONVERSION.findall(ids[0]))
        for form in _forms(message.string):
            got = sorted(CONVERSION.findall(form))
            # a plural form may leave out the count, but may not add or rename a placeholder
            plural_ok = len(ids) > 1 and set(got) <= set(CONVERSION.findall(ids[-1]))
            if got != expected and not plural_ok:
                mismatched.append(f"{message.id!r} → {form!r}: {expected} vs {got}")
    # babel's own checks (python-format placeholders, plural forms) too
    for message, errors in catalog.check():
        mismatched += [f"{message.id!r}: {error}" for error in errors]
    assert not mismatched, "placeholders differ between msgid and msgstr:\n" + "\n".join(mismatched)
