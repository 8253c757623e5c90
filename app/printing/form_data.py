"""What a form template is given: the application's values, related rows, lists and steps, each
read through a Recorder so that the print's fingerprint covers exactly what the form showed."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app import i18n
from app.printing.layout import Layout, layout
from app.printing.values import Lazy, Recorder, Rows, Values, display, label_of, raw, utc_iso


@dataclass
class Built:
    """A form's template and context for one application, and what it read."""

    template: str
    context: dict
    recorder: Recorder
    layout: Layout


class FormData:
    """Mixed into Printing: builds a form's template context from the database."""

    def build(self, session, row, key: str, *, model=None, exclude_print_id: int | None = None) -> Built:
        """Template and context of form ``key`` for ``row`` (no print metadata yet)."""
        from flask_babel import gettext as _

        model = model or self.model
        wf = model.workflow
        form = model.forms[key]
        lay = layout(model, key)
        entity = model.entities[wf.entity]
        rec = Recorder()

        shown, raws, labels = self._row_values(entity, row)
        shown.update(number=row.number, stage=self.core.engine.stage_label(getattr(row, wf.state_field)))
        raws.update(number=row.number, stage=getattr(row, wf.state_field))
        values = Values(rec, wf.entity, shown, raws)

        def related(name: str):
            spec = entity.fields.get(name)
            if spec is None or spec.type != "reference" or spec.to not in model.entities:
                return None
            obj = getattr(row, name, None)
            if obj is None:
                return Values(rec, f"{name}#", {n: "" for n in model.entities[spec.to].fields}, {})
            s, r, _l = self._row_values(model.entities[spec.to], obj)
            return Values(rec, f"{name}#{obj.id}", s, r)

        def related_labels(name: str):
            spec = entity.fields.get(name)
            if spec is None or spec.type != "reference" or spec.to not in model.entities:
                return None
            return {n: label_of(f) for n, f in model.entities[spec.to].fields.items()}

        def collection(child: str, **where) -> Rows:
            return self._collection(session, model, row, rec, child, where)

        def boxes(name: str) -> list[tuple[str, bool]]:
            spec = entity.fields[name]
            value = getattr(row, f"{name}_id" if spec.type == "reference" else name)
            rec.note(wf.entity, name, raws.get(name))
            if spec.type == "boolean":
                return [(_("Yes"), value is True), (_("No"), value is False)]
            return [(label_of(c), c.value == value) for c in spec.choices or []]

        other = []
        for name in lay.other:
            rec.note(wf.entity, name, raws.get(name))
            spec = entity.fields[name]
            other.append((labels[name], display(spec, getattr(row, f"{name}_id" if spec.type == "reference" else name),
                                                getattr(row, name, None) if spec.type == "reference" else None,
                                                multiline=False)))

        context = {
            "v": values, "l": labels, "r": Lazy(related), "rl": Lazy(related_labels),
            "rows": Lazy(lambda child: collection(child) if self._link(model, child) else None),
            "rows_where": collection, "boxes": boxes,
            "el": Lazy(lambda ent: {n: label_of(f) for n, f in model.entities[ent].fields.items()}
                       if ent in model.entities else None),
            "steps": self._steps(session, row, form.stage, rec),
            "prints": self._prints(session, row, key, rec, model, exclude_print_id),
            "other": other,
            "form_title": label_of(form), "form_key": key,
            # at the form's stage now (a `during_stage` form): a blank to fill in on site
            "on_site": getattr(row, wf.state_field, None) == form.stage,
            "stage_label": self.core.engine.stage_label,
        }
        for hook in self.context_hooks:
            context.update(hook(self, session, row, key, rec))
        return Built(lay.template, context, rec, lay)

    def rows_of(self, rec: Recorder, ns: str, items: list[tuple[Any, dict[str, Any], dict[str, Any]]]) -> Rows:
        """Rows for a template from (id, formatted values, raw values) triples, recorded under ``ns``."""
        return Rows(rec, ns, [Values(rec, f"{ns}#{pk}", shown, raws) for pk, shown, raws in items],
                    [pk for pk, _s, _r in items])

    def _row_values(self, entity, obj) -> tuple[dict, dict, dict]:
        shown, raws, labels = {}, {}, {}
        for name, spec in entity.fields.items():
            stored = getattr(obj, f"{name}_id" if spec.type == "reference" else name, None)
            target = getattr(obj, name, None) if spec.type == "reference" and stored is not None else None
            shown[name] = display(spec, stored, target)
            raws[name] = raw(spec, stored, target)
            labels[name] = label_of(spec)
        return shown, raws, labels

    def _link(self, model, child: str) -> str | None:
        if child not in model.entities:
            return None
        return next((n for n, f in model.entities[child].fields.items()
                     if f.type == "reference" and f.to == model.workflow.entity), None)

    def _collection(self, session, model, row, rec: Recorder, child: str, where: dict) -> Rows:
        link = self._link(model, child)
        if link is None:
            raise KeyError(f"{child} has no reference to {model.workflow.entity}")
        cls = self.core.orm[child]
        entity = model.entities[child]
        items, ids = [], []
        for obj in session.scalars(select(cls).where(getattr(cls, f"{link}_id") == row.id).order_by(cls.id)):
            if any((getattr(obj, k) not in v) if isinstance(v, (list, tuple, set)) else getattr(obj, k) != v
                   for k, v in where.items()):
                continue
            shown, raws, _labels = self._row_values(entity, obj)
            items.append(Values(rec, f"{child}#{obj.id}", shown, raws))
            ids.append(obj.id)
        ns = child + ("?" + json.dumps(where, sort_keys=True, default=str) if where else "")
        return Rows(rec, ns, items, ids)

    def _steps(self, session, row, stage: str | None, rec: Recorder) -> Rows:
        """Steps taken out of the form's stage (who did the work, when, with what comment)."""
        items, ids = [], []
        if stage is not None:
            for h in self.history(session, row):
                if h.kind != "transition" or h.from_stage != stage:
                    continue
                at = h.at if h.at is None or h.at.tzinfo else h.at.replace(tzinfo=dt.timezone.utc)
                shown = {"at": i18n.fmt_datetime(at), "date": i18n.fmt_datetime(at)[:10],
                         "step": self.core.engine.step_label(h.trigger, h.from_stage), "user": h.user_name,
                         "unit": h.unit_name, "comment": h.comment or "",
                         "to": self.core.engine.stage_label(h.to_stage)}
                raws = {"at": utc_iso(at), "date": utc_iso(at),
                        "step": h.trigger, "user": h.user_name, "unit": h.unit_name, "comment": h.comment,
                        "to": h.to_stage}
                items.append(Values(rec, f"step#{h.id}", shown, raws))
                ids.append(h.id)
        return Rows(rec, "steps", items, ids)

    def _prints(self, session, row, key: str, rec: Recorder, model, exclude_id: int | None) -> Rows:
        """The latest print of every other form of the application (for the archive list)."""
        cls = self.record_cls
        latest: dict[str, Any] = {}
        for p in session.scalars(select(cls).where(cls.application_id == row.id).order_by(cls.id)):
            if p.form != key and p.id != exclude_id:
                latest[p.form] = p
        order = list(model.forms)
        items, ids = [], []
        for form_key in sorted(latest, key=lambda k: (order.index(k) if k in order else len(order), k)):
            p = latest[form_key]
            at = p.printed_at if p.printed_at.tzinfo else p.printed_at.replace(tzinfo=dt.timezone.utc)
            shown = {"form": self.form_label(form_key, model), "pages": str(p.pages), "code": p.code,
                     "printed_at": i18n.fmt_datetime(at), "date": i18n.fmt_datetime(at)[:10]}
            raws = {"form": form_key, "pages": p.pages, "code": p.code, "printed_at": utc_iso(at),
                    "date": utc_iso(at)}
            items.append(Values(rec, f"print#{p.id}", shown, raws))
            ids.append(p.id)
        return Rows(rec, "prints", items, ids)

