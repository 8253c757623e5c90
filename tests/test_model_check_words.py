"""`model check` speaks one language per locale: pydantic's English never appears in a Chinese report."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.i18n import model_gettext
from app.model.loader import load_text
from app.model.problems import ModelError

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = str(ROOT / "translations")
MODEL = (ROOT / "model.yaml").read_text(encoding="utf-8")
HAN = re.compile(r"[\u4e00-\u9fff]")
PYDANTIC_ENGLISH = ("Input should", "valid integer", "unable to parse", "Field required", "Extra inputs")

BROKEN = [  # (what to replace in model.yaml, replacement, the Chinese words, the English words)
    ("clerk: {label_zh: 业扩员, label_en: Service clerk}",
     "clerk: {label_zh: 业扩员, label_en: Service clerk, scope: everything}",
     "此处不允许“everything”，可用的取值", "'everything' is not allowed here: use one of"),
    ("clerk: {label_zh: 业扩员, label_en: Service clerk}", "clerk: {label_zh: 业扩员, label_en: [a, b]}",
     "应为文字", "expected text"),
    ("unique: true, max_length: 40,", "unique: true, max_length: forty,", "应为整数，实际为“forty",
     "expected a whole number, found 'forty"),
]


def _lines(text: str, locale: str) -> list[str]:
    with pytest.raises(ModelError) as exc:
        load_text(text)
    return exc.value.lines(model_gettext(locale, TRANSLATIONS))


@pytest.mark.parametrize("old, new, zh, en", BROKEN)
def test_pydantic_errors_read_in_the_chosen_language(old, new, zh, en):
    if old not in MODEL:
        pytest.skip(f"model.yaml no longer has {old!r}")
    text = MODEL.replace(old, new, 1)
    chinese = "\n".join(_lines(text, "zh"))
    assert zh in chinese, chinese
    for english in PYDANTIC_ENGLISH + (en,):
        assert english not in chinese, chinese
    english_lines = "\n".join(_lines(text, "en"))
    assert en in english_lines, english_lines
    assert not HAN.search(english_lines.replace("业扩员", "")), english_lines


def test_every_pydantic_error_of_a_broken_model_has_a_template():
    from pydantic import ValidationError

    from app.model import pydantic_words
    from app.model.schema import Model

    with pytest.raises(ValidationError) as exc:
        Model.model_validate({"version": 1, "roles": {"admin": {"label_zh": "", "label_en": 3, "x": 1}},
                              "entities": "none", "units": [{"key": "a", "name_zh": "甲", "name_en": "A",
                                                            "kind": "b", "phone": 5}]})
    for error in exc.value.errors():
        message = pydantic_words.detail(error)
        assert message.template != pydantic_words.FALLBACK, error["type"]
        rendered = message.render(model_gettext("zh", TRANSLATIONS))
        assert HAN.search(rendered) and "Input should" not in rendered, rendered


def test_the_cli_prints_the_count_in_the_same_language(app, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(MODEL.replace("label_en: Service clerk}", "label_en: Service clerk, scope: everything}", 1),
                   encoding="utf-8")
    zh = app.test_cli_runner().invoke(args=["model", "check", str(bad)])
    assert zh.exit_code == 1 and "个问题" in zh.output and "problem(s)" not in zh.output
    assert "此处不允许" in zh.output and "Input should" not in zh.output
    en = app.test_cli_runner().invoke(args=["model", "check", "--lang", "en", str(bad)])
    assert en.exit_code == 1 and "1 problem(s) in" in en.output and "is not allowed here" in en.output
    assert "个问题" not in en.output
