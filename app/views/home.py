"""The workbench (工作台): each role's home page after login."""
from __future__ import annotations

from flask import current_app, g, redirect, url_for
from flask_appbuilder import IndexView, expose

from .. import i18n


class WorkbenchIndexView(IndexView):
    index_template = "workbench.html"

    @expose("/")
    def index(self):
        user = g.user
        if user is None or not user.is_authenticated:
            return redirect(url_for(f"{self.appbuilder.sm.auth_view.__class__.__name__}.login"))
        model = current_app.extensions["yekuotong"].model
        roles = [i18n.label(model.roles[r.name]) for r in user.roles if r.name in model.roles]
        unit = current_app.extensions["yekuotong"].unit_name(user)
        panels = current_app.extensions["yekuotong"].workbench_panels(user)
        self.update_redirect()
        return self.render_template(self.index_template, appbuilder=self.appbuilder,
                                    roles=roles, unit=unit, panels=panels)
