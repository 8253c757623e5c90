"""Translation catalogues: every user-facing message has a Chinese translation that keeps its
placeholders, the catalogues compile, and nothing is left fuzzy.

Messages are re-extracted from the current source (same keywords as tools/update_translations.sh),
so a new `_()` / `N_()` / `lazy_gettext()` string without a zh translation fails here; run
`tools/update_translations.sh`, translate the new entries in translations/zh/LC_MESSAGES/messages.po
and re-run.
"""
from __future__ import annotations

import io
import os
import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "translations"
KEYWORDS = ("N_", "lazy_gettext", "_", "gettext")  # keep in step with tools/update_translations.sh
LOCALES = ("zh", "en")

# %(name)s, %(count)d ... as used by gettext/Flask-Babel; %% is a literal percent sign.
_PERCENT = re.compile(r"%(?:\((\w+)\))?[#0\- +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def _po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def _read_po(locale: str) -> Catalog:
    with open(_po_path(locale), "rb") as f:
        return read_po(f, locale=locale)


def _msgids(message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _msgstrs(message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Catalog:
    """The messages in the source as it is now, extracted into a throw-away .pot."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    argv = ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-o", str(pot)]
    for keyword in KEYWORDS:
        argv += ["-k", keyword]
    CommandLineInterface().run(argv + [str(ROOT)])
    with open(pot, "rb") as f:
        catalog = read_po(f)
    assert len([m for m in catalog if m.id]) > 0, "extraction found no messages; is babel.cfg right?"
    return catalog


@pytest.fixture(scope="module")
def zh() -> Catalog:
    return _read_po("zh")


def _where(message) -> str:
    """First source locations of an extracted message, relative to the repository."""
    return ", ".join(f"{os.path.relpath(path, ROOT)}:{line}" for path, line in message.locations[:2])


def _brace_fields(text: str) -> set[str]:
    """Replacement fields of a str.format template ('{{' and '}}' are literal braces)."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:  # unbalanced braces
        return {f"<malformed: {exc}>"}


def _percent_fields(text: str) -> set[str]:
    return {m.group(0) for m in _PERCENT.finditer(text) if m.group(0) != "%%"}


def _placeholders(text: str) -> set[str]:
    return {"{" + f + "}" for f in _brace_fields(text)} | _percent_fields(text)


def test_every_message_has_zh_translation(extracted, zh):
    untranslated = []
    for message in extracted:
        if not message.id:
            continue
        translated = zh.get(message.id, message.context)
        if translated is None or not all(s.strip() for s in _msgstrs(translated)):
            untranslated.append(f"{_msgids(message)[0]!r}  ({_where(message)})")
    assert not untranslated, (
        f"{len(untranslated)} message(s) have no zh translation; run tools/update_translations.sh "
        "and translate them in translations/zh/LC_MESSAGES/messages.po:\n  " + "\n  ".join(untranslated))


def test_zh_placeholders_match_msgid(zh):
    mismatched = []
    for message in zh:
        if not message.id:
            continue
        wanted = set().union(*(_placeholders(i) for i in _msgids(message)))
        for translation in _msgstrs(message):
            if not translation:
                continue  # reported by test_every_message_has_zh_translation
            got = _placeholders(translation)
            if got != wanted:
                mismatched.append(f"{_msgids(message)[0]!r} -> {translation!r}: "
                                  f"missing {sorted(wanted - got)}, unexpected {sorted(got - wanted)}")
    assert not mismatched, "zh translations whose placeholders differ from the msgid:\n  " + "\n  ".join(mismatched)


def test_zh_brace_templates_format(zh):
    """Every msgid formatted with str.format formats the same way in Chinese (escaped braces too)."""
    broken = []
    for message in zh:
        if not message.id or not message.string or "{" not in message.id:
            continue
        params = {name: "x" for name in _brace_fields(message.id) if name}
        try:
            message.id.format(**params)
        except (KeyError, IndexError, ValueError):
            continue  # not a str.format template
        try:
            message.string.format(**params)
        except (KeyError, IndexError, ValueError) as exc:
            broken.append(f"{message.id!r} -> {message.string!r}: {exc!r}")
    assert not broken, "zh translations that fail str.format:\n  " + "\n  ".join(broken)


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_compiles(locale):
    catalog = _read_po(locale)
    errors = [f"{m.id!r}: {err}" for m, errs in catalog.check() for err in errs]
    assert not errors, f"{locale} catalogue has errors:\n  " + "\n  ".join(errors)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    compiled = read_mo(buffer)
    if locale == "zh":
        translated = [m for m in catalog if m.id and m.string]
        assert translated and all(compiled.get(m.id, m.context) is not None for m in translated)


@pytest.mark.parametrize("locale", LOCALES)
def test_no_fuzzy_entries(locale):
    catalog = _read_po(locale)
    fuzzy = [m.id or "<header>" for m in catalog if m.fuzzy]
    assert not fuzzy, f"{locale} catalogue has fuzzy entries (review them, then drop '#, fuzzy'):\n  " + \
        "\n  ".join(map(repr, fuzzy))
