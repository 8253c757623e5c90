"""Generated from the model: ORM classes (classes.py, workflow_tables.py), CRUD screens and REST APIs
(views/)."""
from __future__ import annotations


def init_app(app, core, appbuilder, view_bases: dict[str, tuple] | None = None,
             api_bases: dict[str, tuple] | None = None) -> None:
    """A list/show/add/edit screen and a REST API per entity, in the model's menus.
    `view_bases` / `api_bases` add mixins to an entity's screen / API (the case page, stage-aware
    editing of the case and its sub-records)."""
    from app import i18n
    from app.generated.views import make_api, make_view
    from app.generated.views.choices import choices
    from app.generated.views.screens import refuse_unknown_actions

    view_bases, api_bases = view_bases or {}, api_bases or {}
    app.register_blueprint(choices)
    app.before_request(refuse_unknown_actions)
    for key, entity in core.model.entities.items():
        menu = core.model.menus[entity.menu]
        view = make_view(core.model, key, core.orm[key], bases=view_bases.get(key, ()))
        appbuilder.add_view(view, key, label=i18n.label(entity), icon=entity.icon,
                            category=entity.menu, category_label=i18n.label(menu),
                            category_icon=menu.icon)
        appbuilder.add_api(make_api(core.model, key, core.orm[key], bases=api_bases.get(key, ())))
