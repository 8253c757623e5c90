"""Problems found in a model file: code, location, message and hint."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


def N_(text: str) -> str:
    """Mark a message template for extraction; it is translated when printed."""
    return text


@dataclass(frozen=True)
class Msg:
    """A message nested in another one's parameters, translated when the outer one is printed."""

    template: str
    params: tuple[tuple[str, Any], ...] = ()

    def render(self, gettext: Callable[[str], str]) -> str:
        return gettext(self.template).format(**_rendered(self.params, gettext))


def _rendered(params, gettext) -> dict:
    return {k: v.render(gettext) if isinstance(v, Msg) else v for k, v in params}


@dataclass(frozen=True, order=True)
class Problem:
    line: int
    col: int
    code: str
    message: str = field(compare=False)
    params: tuple[tuple[str, Any], ...] = field(default=(), compare=False)
    hint: str = field(default="", compare=False)

    def format(self, filename: str, gettext: Callable[[str], str] = lambda s: s) -> str:
        params = _rendered(self.params, gettext)
        text = f"{filename}:{self.line}:{self.col}: error {self.code}: {gettext(self.message).format(**params)}"
        if self.hint:
            text += f" HINT: {gettext(self.hint).format(**params)}"
        return text


class ModelError(Exception):
    """Raised when a model file has problems; carries every one of them."""

    def __init__(self, filename: str, problems: list[Problem]):
        self.filename = filename
        self.problems = sorted(problems)
        super().__init__("\n".join(p.format(filename) for p in self.problems))

    def lines(self, gettext: Callable[[str], str] = lambda s: s) -> list[str]:
        return [p.format(self.filename, gettext) for p in self.problems]
