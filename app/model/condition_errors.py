"""Errors of the condition language: ConditionError and its syntax and evaluation kinds, and the N_ marker."""
from __future__ import annotations

from typing import Any, Callable, Mapping

N_ = lambda s: s  # noqa: E731 - no-op marker so babel extracts message templates

END_OF_TEXT = N_("end of text")


class ConditionError(Exception):
    """Base error: an untranslated message template, its params and a 1-based column."""

    def __init__(self, message_template: str, params: Mapping[str, Any] | None = None,
                 column: int | None = None):
        self.message_template, self.params, self.column = message_template, dict(params or {}), column
        super().__init__(self.render())

    def render(self, gettext: Callable[[str], str] = lambda s: s) -> str:
        # "end of text" stands in for a token in 'found ...' messages, so it is translated too.
        params = {k: gettext(v) if v == END_OF_TEXT else v for k, v in self.params.items()}
        text = gettext(self.message_template).format(**params)
        if self.column is None:
            return text
        return gettext(N_("{message} (column {column})")).format(message=text, column=self.column)


class ConditionSyntaxError(ConditionError):
    """The text is not a valid condition."""


class ConditionEvaluationError(ConditionError):
    """Evaluation needed something the host did not supply (an unknown function)."""
