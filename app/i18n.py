"""Bilingual labels from the model, how dates, money and times are shown, and gettext outside a request."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Callable
from zoneinfo import ZoneInfo

from babel.support import NullTranslations, Translations
from flask import has_request_context
from flask_babel import LazyString, get_locale, lazy_gettext

SHANGHAI = ZoneInfo("Asia/Shanghai")


def is_english() -> bool:
    return has_request_context() and str(get_locale() or "zh").startswith("en")


def label(item) -> LazyString:
    """A label that renders in the request's language: label_zh by default, label_en in English."""
    zh, en = item.label_zh, item.label_en
    return LazyString(lambda: en if is_english() else zh)


def text(zh: str, en: str) -> LazyString:
    return LazyString(lambda: en if is_english() else zh)


#: Punctuation between words of a composed text (a history row, a list of labels): full-width in
#: Chinese, ASCII in English pages.
_PUNCTUATION = {
    False: {"colon": "：", "semicolon": "；", "comma": "，", "enum": "、", "open": "（", "close": "）"},
    True: {"colon": ": ", "semicolon": "; ", "comma": ", ", "enum": ", ", "open": " (", "close": ")"},
}


def punctuation() -> dict[str, str]:
    """{colon, semicolon, comma, enum, open, close} in the request's language."""
    return _PUNCTUATION[is_english()]


def unit_name(unit) -> str:
    """A unit (a row of the unit table) by its name in the request's language: in English the
    model's `name_en` of the unit with that code; else the stored (Chinese) name."""
    if unit is None:
        return ""
    if is_english():
        from flask import current_app

        code = getattr(unit, "code", None)
        for declared in current_app.extensions["yekuotong"].model.units:
            if declared.key == code:
                return declared.name_en
    return str(getattr(unit, "name", unit))


def unit_text(name) -> str:
    """A unit's stored (Chinese) name as read in the request's language: in English the model's
    `name_en` of the unit so named; a name the model does not declare stays as it is."""
    if not name or not is_english():
        return "" if name is None else str(name)
    from flask import current_app

    for declared in current_app.extensions["yekuotong"].model.units:
        if declared.name_zh == name:
            return declared.name_en
    return str(name)


def fine_rule(fine) -> str:
    """A fine's rule as the model names it in the request's language; the label stored with the fine
    (Chinese, as it was when proposed) when the model has no rule with that id any more."""
    if is_english():
        from flask import current_app

        for rule in current_app.extensions["yekuotong"].model.fines:
            if rule.id == fine.rule_id:
                return rule.label_en
    return fine.rule_label


def fmt_date(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return fmt_datetime(value)
    return value.isoformat()


def fmt_datetime(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:  # SQLite hands back naive values; we store UTC
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def fmt_money(value) -> str:
    if value is None:
        return ""
    return f"¥{Decimal(value):,.2f}"


def model_gettext(locale: str, directory: str) -> Callable[[str], str]:
    """gettext for `locale` from our compiled catalogue, outside a request (model check, CLI);
    English text if none is compiled."""
    directory = directory.split(";")[-1]
    translations = Translations.load(directory, [locale])
    if isinstance(translations, NullTranslations) and not isinstance(translations, Translations):
        return lambda s: s
    return translations.gettext


#: Words of Flask-AppBuilder's templates that its Chinese catalogue lacks and our pages show: the
#: question its delete buttons put into the confirmation dialog. Marked here so that our catalogue
#: carries them (the buttons and the dialog's title: app/security/views/fab_words.py, app/templates/).
FAB_TEMPLATE_WORDS = (lazy_gettext("Are you sure you want to delete this item?"),)
