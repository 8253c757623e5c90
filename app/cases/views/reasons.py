"""Why a step on the case page is greyed out, in the user's language: the model's message for the
condition, the missing documents, or the condition in words; never the condition language."""
from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from app import i18n
from app.cases.views.records import missing_documents
from app.cases.views.signoffs import missing_labels
from app.model.condition_words import guard_reasons

DOCUMENTS_COMPLETE = "documents_complete()"


def step_reasons(row, spec, decision) -> list[str]:
    """One line per failed condition of `spec` (in model order), then the missing sign-offs."""
    model = current_app.extensions["yekuotong"].model
    english = i18n.is_english()
    out: list[str] = []
    for index in decision.failed_guards:
        node = spec.compiled[index]
        missing = missing_documents(row) if str(node) == DOCUMENTS_COMPLETE else []
        if missing:  # which documents, by name: more use to the clerk than any sentence
            out.append(_("Missing documents: %(list)s", list=i18n.punctuation()["enum"].join(missing)))
            continue
        said = guard_reasons(spec.compiled, spec.messages, (index,), model, "en" if english else "zh")[0]
        has_message = all(spec.messages[index]) if index < len(spec.messages) else False
        out.append(said if has_message else _("Needed: %(condition)s", condition=said))
    return out + missing_labels(decision)
