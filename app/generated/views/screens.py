"""The screens of a generated entity: FAB's ModelView with the model's forms, row scope, checked list
arguments, page size capped, saving that answers in Chinese, and scans served through their row."""
from __future__ import annotations

from flask import current_app, g, request, send_file, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.widgets import SearchWidget
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import or_, select

from app import events, i18n
from app.generated.views import args, case_filters
from app.generated.views.columns import VIEW_PERMISSIONS, Generated
from app.generated.views.files import display_name, is_stored_name
from app.generated.views.forms import extra_form_fields, form_validators
from app.generated.views.reference import ReferenceFilterField
from app.generated.views.refusals import GeneratedInterface
from app.generated.views.scoping import scope_filters
from app.model.naming import class_name
from app.security import scope
from app.security.errors import error_response
from app.storage import scans

INLINE = (".pdf", ".png", ".jpg", ".jpeg")


class ReferenceSearchWidget(SearchWidget):
    template = "reference_search.html"


class GeneratedView(ModelView):
    """Base of every generated entity's screens (`/<entity>/list/` ...)."""

    generated: Generated = None
    method_permission_name = VIEW_PERMISSIONS
    page_size = 25

    #: (name, label, filter class, search field) of filters that are not a column (case_filters.py).
    extra_filters: tuple = ()
    #: Whether the list may be ordered by the soonest running deadline (`next_due`).
    due_order = False

    def _init_properties(self):
        super()._init_properties()
        searchable = self._filters.get_search_filters()
        for name, label, filter_class, _field in self.extra_filters:
            if name not in self.search_columns:
                self.search_columns.append(name)
            searchable[name] = self._filters._all_filters[name] = [filter_class(name, self.datamodel)]
            self.label_columns[name] = label
        if self.due_order:
            self.order_columns = list(self.order_columns or []) + [case_filters.NEXT_DUE]
            self.label_columns[case_filters.NEXT_DUE] = i18n.text("下一时限", "Next deadline")

    def _get_search_widget(self, form=None, exclude_cols=None, widgets=None):
        widgets = super()._get_search_widget(form=form, exclude_cols=exclude_cols, widgets=widgets)
        if self.due_order:  # the order no column header offers: a link beside the search panel
            own = self.__class__.__name__
            widgets["search"].template_args.update(
                next_due_label=i18n.text("按下一时限排序", "Order by next deadline"),
                next_due_url=url_for(f"{self.endpoint}.list", **{f"_oc_{own}": case_filters.NEXT_DUE,
                                                                 f"_od_{own}": "asc"}))
        return widgets

    def create_blueprint(self, appbuilder, *a, **kw):
        blueprint = super().create_blueprint(appbuilder, *a, **kw)
        blueprint.before_request(self._check_arguments)
        return blueprint

    def _check_arguments(self):
        """Refuse a bad id or list argument before FAB's parsers and queries see it."""
        view_args = request.view_args or {}
        if "pk" in view_args and args.record_id(view_args["pk"]) is None:
            return error_response(404, _("Not found: there is nothing at this address."))
        problem = args.screen_problem(self, self.generated)
        if problem:
            return error_response(400, problem)
        return None

    def _get_list_widget(self, filters, actions=None, order_column="", order_direction="", page=None,
                         page_size=None, widgets=None, **kwargs):
        # FAB takes psize_/_oc_ as given: cap the page and order only by listed columns.
        page_size = min(page_size or self.page_size, args.MAX_PAGE_SIZE)
        if order_column and order_column not in self.order_columns:
            order_column, order_direction = "", ""
        return super()._get_list_widget(filters, actions=actions, order_column=order_column,
                                        order_direction=order_direction, page=page, page_size=page_size,
                                        widgets=widgets, **kwargs)

    def render_template(self, template, **kwargs):
        try:
            return super().render_template(template, **kwargs)
        finally:  # what the list prefetched for its rows (refusals.GeneratedInterface.get_values)
            current_app.extensions["yekuotong"].db.session.info.pop(events.LIST_PREFETCHED, None)

    @property
    def database_error_message(self):
        return getattr(g, "ykt_refusal", None) or lazy_gettext("Database Error")

    def pre_add(self, item) -> None:
        if getattr(item, "created_by_fk", None) is None and getattr(g, "user", None) is not None:
            item.created_by_fk = g.user.id

    @expose("/download/<string:filename>")
    @has_access
    def download(self, filename):
        """A scan named by a row the user may see; shown under the name it was uploaded with."""
        entity = self.generated.entity
        columns = [getattr(self.datamodel.obj, n) for n, f in entity.fields.items() if f.type == "file"]
        found = content = None
        if columns and is_stored_name(filename):
            core = current_app.extensions["yekuotong"]
            query = select(self.datamodel.obj.id).where(or_(*[c == filename for c in columns]))
            found = core.db.session.scalar(scope.restrict(core, query, g.user, self.generated.key).limit(1))
        if found is not None:
            content = scans().open(filename)  # a path (folder) or a stream of the database's chunks
        if content is None:
            return error_response(404, _("This file does not exist (or you may not see it)."))
        name = display_name(filename)
        response = send_file(content, download_name=name, as_attachment=not name.lower().endswith(INLINE),
                             etag=isinstance(content, str))
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "private, no-store"
        return response


def refuse_unknown_actions():
    """Every FAB ModelView (ours and the security screens) answers `/action/<name>/<pk>` and
    `/action_post` by looking the action up and calling it: an unknown name was a 500. Now a 404."""
    endpoint = request.endpoint or ""
    if not endpoint.endswith((".action", ".action_post")):
        return None
    name = (request.view_args or {}).get("name") if endpoint.endswith(".action") else request.form.get("action")
    view = next((v for v in current_app.appbuilder.baseviews
                 if getattr(getattr(v, "blueprint", None), "name", None) == request.blueprint), None)
    if view is None or name not in (getattr(view, "actions", None) or {}):
        return error_response(404, _("Not found: there is nothing at this address."))
    return None


def make_view(model, key: str, orm_class, hooks: dict | None = None, bases: tuple = ()) -> type:
    gen = Generated(model, key)
    title = i18n.label(gen.entity)
    # Reference filters search on demand (reference.py): no <option> per related record.
    search_refs = {n: ReferenceFilterField(gen.labels[n], field=gen.entity.fields[n], owner=key)
                   for n in gen.search if gen.entity.fields.get(n) and gen.entity.fields[n].type == "reference"}
    extras = tuple(case_filters.extra_filters(model, key, gen.search, gen.labels))
    search_refs.update({name: field for name, _label, _cls, field in extras})
    attrs = dict(
        generated=gen,
        extra_filters=extras,
        due_order=bool(gen.is_workflow and model.timers),
        datamodel=GeneratedInterface(orm_class),
        route_base=f"/{key}",
        class_permission_name=class_name(key),
        list_title=title, show_title=title, add_title=title, edit_title=title,
        list_columns=gen.list, search_columns=gen.search, show_columns=gen.show,
        add_columns=gen.form, edit_columns=gen.form,
        label_columns=gen.labels, formatters_columns=gen.formatters,
        validators_columns=form_validators(gen),
        add_form_extra_fields=extra_form_fields(gen),
        edit_form_extra_fields=extra_form_fields(gen),
        base_filters=scope_filters(model, key),
        search_form_extra_fields=search_refs,
        search_widget=ReferenceSearchWidget,
    )
    order = gen.entity.order_by or ("number" if gen.is_workflow else None)
    attrs["base_order"] = (order, "desc" if gen.is_workflow else "asc") if order else ("id", "desc")
    attrs.update(hooks or {})
    return type(f"{class_name(key)}View", bases + (GeneratedView,), attrs)
