"""模型版本 (administrators only): the active version with its process diagram, every stored version with
who applied it, when, why and what it changed, and the model editor — edit or upload YAML, check it (the
checker's problems at their line and column), see the plain-words diff with the cases each change
touches, and apply it with a comment (app/versions/apply.py; refusals change nothing)."""
from __future__ import annotations

import logging

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _, lazy_gettext
from markupsafe import Markup

from app import i18n
from app.model.diff import diff, render
from app.model.loader import load_text
from app.model.problems import ModelError
from app.security import audit_words
from app.versions import store
from app.versions.preview import preview
from app.workflow.machine import Workflow

log = logging.getLogger(__name__)

#: The largest model text accepted from the editor or an upload (the shipped model is about 50 KB).
MAX_TEXT = 1_000_000
SOURCE = "web editor"


def _core():
    return current_app.extensions["yekuotong"]


def _session():
    return _core().db.session


def _text_of(row) -> str | None:
    return row.content if row is not None else None


def _model_of(row):
    """The model of a stored version, or None when its text no longer loads."""
    try:
        return load_text(row.content, f"version {row.number}").model
    except ModelError:
        return None


def _served_text() -> str:
    """The text the editor starts from: the active version, else the file the app was built from."""
    row = store.active(_session())
    if row is not None and row.content:
        return row.content
    try:
        with open(_core().loaded.filename, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return ""


def _when(value) -> str:
    return i18n.fmt_datetime(value)


def _diagram(model) -> Markup:
    if model is None or model.workflow is None:
        return Markup("")
    return Markup(Workflow.from_model(model).diagram_svg(english=i18n.is_english()))


def _gettext():
    return _  # flask_babel's: the request's language


def _problem(p, gettext) -> dict:
    """A checker problem for the page: where, its code, and its message with the hint."""
    full = p.format("", gettext)
    text = full.split(f"error {p.code}: ", 1)[-1].replace(" HINT: ", " — " + _("Hint") + "：")
    return {"line": p.line, "col": p.col, "code": p.code, "text": text}


def _check_panel(text: str, filename: str) -> dict:
    """What the check shows: the checker's problems, or the diff with counts and strandings."""
    result = preview(_session(), _core(), text, filename)
    gettext = _gettext()
    if not result.ok:
        return {"ok": False, "problems": [_problem(p, gettext) for p in result.problems]}
    lines = result.lines(gettext)
    return {"ok": True, "base": result.base_line(gettext),
            "changes": [{"text": line, "count": n, "strands": c.strands}
                        for line, n, c in zip(lines, result.counts, result.changes)],
            "strandings": result.stranding_lines(gettext), "version": result.new_version}


class ModelVersionsView(BaseView):
    """Only administrators hold its permissions (roles from the model: admin has every one)."""

    route_base = "/versions"
    default_view = "index"
    class_permission_name = "ModelVersions"
    method_permission_name = {"index": "list", "show": "list", "editor": "edit", "check": "edit",
                              "apply": "edit"}

    @expose("/")
    @has_access
    def index(self):
        session = _session()
        rows = [r for r in store.versions(session)]
        active = store.active(session)
        model = _model_of(active) if active is not None else _core().model
        return self.render_template(
            "versions_index.html", title=_("Model versions"), active=active, model=model,
            diagram=_diagram(model), when=_when, active_by=audit_words.actor(active.applied_by) if active else "",
            rows=[{"number": r.number, "version": r.version, "by": audit_words.actor(r.applied_by), "at": _when(r.applied_at),
                   "comment": r.comment or "", "has_text": bool(r.content),
                   "active": active is not None and r.number == active.number} for r in rows])

    @expose("/<int:number>/")
    @has_access
    def show(self, number: int):
        session = _session()
        row = store.get(session, number)
        if row is None:
            abort(404)
        operations = [line for line in (row.operations or "").splitlines() if line]
        model = _model_of(row) if row.content else None
        earlier = [r for r in store.versions(session) if r.content and r.number is not None and r.number < number]
        previous = earlier[0] if earlier else None
        lines = []
        if model is not None and previous is not None:
            before = _model_of(previous)
            lines = render(diff(before, model), _gettext()) if before is not None else []
        return self.render_template(
            "versions_show.html", title=_("Model version %(n)s", n=number), row=row, previous=previous,
            lines=lines, at=_when(row.applied_at), diagram=_diagram(model), by=audit_words.actor(row.applied_by),
            operations=operations, summary=audit_words.schema_summary(operations))

    @expose("/editor", methods=["GET", "POST"])
    @has_access
    def editor(self):
        if request.method == "GET":
            start = request.args.get("from", type=int)
            text = _served_text()
            if start is not None:
                row = store.get(_session(), start)
                if row is None or not row.content:
                    abort(404)
                text = row.content
            active = store.active(_session())
            return self._editor(text, based_on=active.number if active is not None else None)
        text, filename, error = _posted_text()
        based_on = _based_on()
        if error:
            return self._editor(text, based_on=based_on, errors=[error]), 400
        return self._editor(text, based_on=based_on, panel=_check_panel(text, filename),
                            comment=request.form.get("comment", ""))

    @expose("/check", methods=["POST"])
    @has_access
    def check(self):
        """The check as the administrator types: the same panel, as a page fragment."""
        text, filename, error = _posted_text()
        if error:
            return {"html": str(Markup('<div class="alert alert-danger">%s</div>') % error)}, 400
        panel = _check_panel(text, filename)
        return {"ok": panel["ok"], "html": self.render_template("versions_check_panel.html", panel=panel)}

    @expose("/apply", methods=["POST"])
    @has_access
    def apply(self):
        from app.database.migrate import MigrationError
        from app.versions.apply import ApplyRefused, apply_model

        text, filename, error = _posted_text()
        based_on = _based_on()
        comment = (request.form.get("comment") or "").strip()
        if error:
            return self._editor(text, based_on=based_on, errors=[error], comment=comment), 400
        if not comment:
            return self._editor(text, based_on=based_on, comment=comment, panel=_check_panel(text, filename),
                                errors=[_("Say why in the comment: it is kept with the version and in the "
                                          "action log. Nothing was applied.")]), 422
        user = getattr(g, "user", None)
        try:
            result = apply_model(text, source=SOURCE, comment=comment[:2000], user=getattr(user, "username", None),
                                 based_on=based_on)
        except ApplyRefused as exc:
            if exc.kind == "conflict":  # who applied the version in between, as the action log names them
                exc.conflict["user"] = audit_words.actor(exc.conflict.get("user"))
            log.info("model apply refused (%s) for %s", exc.kind, getattr(user, "username", "?"))
            panel = {"ok": False, "problems": [_problem(p, _) for p in exc.problems]} \
                if exc.kind == "invalid" else _check_panel(text, filename)
            return self._editor(text, based_on=based_on, comment=comment, panel=panel,
                                errors=[_("Nothing was applied.")] + exc.lines(_)), 409
        except MigrationError as exc:
            log.warning("model apply failed: %s", exc)
            return self._editor(text, based_on=based_on, comment=comment,
                                errors=[_("Nothing was applied: the database refused the migration (%(e)s).",
                                          e=str(exc)[:300])]), 409
        for line in result.summary(_):
            flash(line.strip(), "success" if result.number is not None else "info")
        return redirect(url_for("ModelVersionsView.index"))

    def _editor(self, text: str, *, based_on, panel=None, errors=(), comment: str = ""):
        return self.render_template(
            "versions_editor.html", title=_("Model editor"), text=text, based_on=based_on, panel=panel,
            errors=list(errors), comment=comment, max_text=MAX_TEXT)


def _posted_text() -> tuple[str, str, str | None]:
    """(text, file name, error) from the form: an uploaded file wins over the text area."""
    upload = request.files.get("upload")
    if upload is not None and upload.filename:
        raw = upload.read(MAX_TEXT + 1)
        name = upload.filename[-100:]
        if len(raw) > MAX_TEXT:
            return "", name, _("The file is larger than %(n)d bytes.", n=MAX_TEXT)
        try:
            return raw.decode("utf-8-sig"), name, None
        except UnicodeDecodeError:
            return "", name, _("The file is not UTF-8 text; save it as UTF-8 and upload it again.")
    text = (request.form.get("content") or "").replace("\r\n", "\n")
    if len(text) > MAX_TEXT:
        return text[:MAX_TEXT], "model.yaml", _("The text is longer than %(n)d characters.", n=MAX_TEXT)
    return text, "model.yaml", None


def _based_on():
    """The active version the administrator started from ("" = none yet); absent: not checked."""
    raw = request.form.get("based_on")
    if raw is None:
        return False
    raw = raw.strip()
    return int(raw) if raw.isdigit() else None


def init_app(app, core, appbuilder) -> None:
    """The screens and their templates (called by app.versions.init_app)."""
    from flask import Blueprint

    app.register_blueprint(Blueprint("versions", __name__, template_folder="templates"))
    register(appbuilder)


def register(appbuilder) -> None:
    appbuilder.add_view(ModelVersionsView, "model_versions", label=lazy_gettext("Model versions"),
                        icon="fa-code-fork", category="Security")
    appbuilder.add_link("model_editor", label=lazy_gettext("Model editor"), href="/versions/editor",
                        icon="fa-pencil", category="Security")
