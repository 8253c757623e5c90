"""Translating model-check and CLI messages outside a request (no Flask-Babel context)."""
from __future__ import annotations

from typing import Callable

from babel.support import NullTranslations, Translations


def model_gettext(locale: str, directory: str) -> Callable[[str], str]:
    """gettext for `locale` from our compiled catalogue; English text if none is compiled."""
    directory = directory.split(";")[-1]
    translations = Translations.load(directory, [locale])
    if isinstance(translations, NullTranslations) and not isinstance(translations, Translations):
        return lambda s: s
    return translations.gettext
