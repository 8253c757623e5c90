"""What applying a model text would do, without doing it: its checker problems, or the plain-words diff
against the active version with the in-flight cases each change touches and the applications it would
strand. Shared by `flask model diff` and the browser editor."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from types import SimpleNamespace

from app.model.diff import Change, diff, render
from app.model.loader import load_text
from app.model.problems import ModelError, N_, Problem
from app.versions import impact, store

log = logging.getLogger(__name__)

BASE_VERSION = N_("Compared with the active version {number} (model {version}).")
STRANDING = N_("Would be refused: {change}; applications {numbers} ({n} in all). Map them under migrate: "
               "in the model.")
BASE_BUILT = N_("Compared with the model this app was built from ({version}): no version is stored yet.")


@dataclass
class Preview:
    """The outcome of checking a text: problems (then nothing else), or the changes it makes."""

    problems: list[Problem] = field(default_factory=list)
    filename: str = ""
    changes: list[Change] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    strandings: list = field(default_factory=list)  # impact.Stranding
    base_number: int | None = None  # the active version compared with (None: the app's own model)
    base_version: str = ""
    new_version: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def base_line(self, gettext) -> str:
        if self.base_number is None:
            return gettext(BASE_BUILT).format(version=self.base_version)
        return gettext(BASE_VERSION).format(number=self.base_number, version=self.base_version)

    def lines(self, gettext) -> list[str]:
        return render(self.changes, gettext, self.counts)

    def stranding_lines(self, gettext, shown: int = 20) -> list[str]:
        out = []
        for s in self.strandings:
            numbers = "、".join(s.numbers[:shown]) + (" …" if s.count > shown else "")
            out.append(gettext(STRANDING).format(change=render([s.change], gettext)[0], numbers=numbers, n=s.count))
        return out


def base_model(session, core):
    """(number, model) of the active stored version, or (None, the model the app was built from)."""
    row = store.active_on(session.connection())  # None also before the versions table exists
    if row is not None and row.content:
        try:
            return row.number, load_text(row.content, f"version {row.number}").model
        except ModelError:  # a stored version the checker now refuses: compare with what is served
            log.warning("stored version %s no longer passes the checker; comparing with the served model",
                        row.number)
    return None, core.model


def preview(session, core, text: str, filename: str = "model.yaml") -> Preview:
    """Check `text`; when it is valid, diff it against the active version and count the cases."""
    try:
        new = load_text(text, filename).model
    except ModelError as exc:
        return Preview(problems=exc.problems, filename=exc.filename)
    number, old = base_model(session, core)
    changes = diff(old, new)
    served = SimpleNamespace(model=old)  # counts read the stages of the version the cases live in
    counts = impact.counts(session, served, changes)
    strandings = impact.stranded(session, served, old, new, changes, new.migrate)
    # A stranding change the mapping takes care of is an ordinary one: its cases move, nothing is stuck.
    stuck = {id(s.change) for s in strandings}
    changes = [c if not c.strands or id(c) in stuck else replace(c, strands=False) for c in changes]
    return Preview(filename=filename, changes=changes, counts=counts, strandings=strandings,
                   base_number=number, base_version=old.version, new_version=new.version)
