"""Where a form's fields go: placed by its template (read from the Jinja syntax tree) or listed in the
generic section; and whether a form's stage has been reached."""
from __future__ import annotations

from dataclasses import dataclass

from jinja2 import nodes

from app.printing.render import TEMPLATE_DIR, environment

#: Calls in a form template whose first (string) argument places an application field.
PLACING_CALLS = ("kv", "boxes", "tick", "tick_cell")
#: The template variable holding the application's formatted values.
VALUES_NAME = "v"

_placed_cache: dict[tuple[str, float], frozenset[str]] = {}


@dataclass(frozen=True)
class Layout:
    key: str
    template: str
    stage: str | None
    placed: frozenset[str]
    other: tuple[str, ...]  # stage/form fields the template does not place, in model order


def template_name(form_key: str, form) -> str:
    return form.template or f"forms/{form_key}.html"


def placed_fields(template: str) -> frozenset[str]:
    """Application fields a form template places: ``v.f``, ``v['f']``, ``kv('f')``, ``boxes('f')``.

    Read from the Jinja syntax tree of the template and of the ``forms/`` templates it extends
    or includes; cached per file modification time.
    """
    path = TEMPLATE_DIR / template
    mtime = path.stat().st_mtime if path.is_file() else 0.0
    cached = _placed_cache.get((template, mtime))
    if cached is not None:
        return cached
    source, _filename, _uptodate = environment.loader.get_source(environment, template)
    tree = environment.parse(source)
    found: set[str] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node.node, nodes.Name) and node.node.name == VALUES_NAME:
            if isinstance(node, nodes.Getattr):
                found.add(node.attr)
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                found.add(node.arg.value)
    for call in tree.find_all(nodes.Call):
        if (isinstance(call.node, nodes.Name) and call.node.name in PLACING_CALLS and call.args
                and isinstance(call.args[0], nodes.Const) and isinstance(call.args[0].value, str)):
            found.add(call.args[0].value)
    for node in tree.find_all((nodes.Extends, nodes.Include)):
        if isinstance(node.template, nodes.Const) and str(node.template.value).startswith("forms/"):
            found |= placed_fields(node.template.value)
    result = frozenset(found)
    _placed_cache[(template, mtime)] = result
    return result


def layout(model, form_key: str, placed: frozenset[str] | set[str] | None = None) -> Layout:
    """Where each field of a form goes: placed by its template, or in the generic section."""
    form = model.forms[form_key]
    wf = model.workflow
    template = template_name(form_key, form)
    if placed is None:
        placed = placed_fields(template)
    entity = model.entities[wf.entity]
    wanted: list[str] = []
    stage_fields = wf.stages[form.stage].fields if form.stage in wf.stages else []
    for name in list(stage_fields) + list(form.fields):
        if name in entity.fields and name not in wanted:
            wanted.append(name)
    other = tuple(n for n in wanted if n not in placed)
    return Layout(form_key, template, form.stage, frozenset(placed), other)


def reached(model, form, stage_now: str | None, history) -> bool:
    """Whether the application has reached the form's stage (see the module docstring)."""
    wf = model.workflow
    if form.stage is None or form.stage not in wf.stages:
        return True
    stage = wf.stages[form.stage]
    if stage.initial:
        return True
    if stage_now == form.stage and (stage.terminal or form.during_stage):
        return True
    if stage.terminal:
        return False
    return any(h.kind == "transition" and h.from_stage == form.stage for h in history)
