"""A stock Flask-AppBuilder app over the generated tables: the baseline bench/scale.py compares with.

    STOCK_DATABASE_URL=postgresql+psycopg://…/ykt_bench_100k gunicorn -w 2 'bench.stock_app:create_app()'

Plain ModelView and ModelRestApi, default settings (page size 25, FAB's own filters and counts) on
the application, customer and history tables, reflected from the database that bench/generate.py
filled. Sign-in is FAB's own against the same ab_user table (the demo admin, role `admin`). No
business logic: this is what FAB gives for free over the same rows.
"""
from __future__ import annotations

import os

from flask import Flask
from flask_appbuilder import AppBuilder, Model, ModelRestApi, ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import Table, create_engine
from sqlalchemy.orm import relationship

_CLASSES: dict = {}


def _classes(engine):
    """Application, customer and history classes reflected from the database (once per process)."""
    if _CLASSES:
        return _CLASSES
    meta = Model.metadata
    for name in ("unit", "customer", "application", "workflow_history"):
        Table(name, meta, autoload_with=engine, resolve_fks=False, extend_existing=True)

    class StockUnit(Model):
        __table__ = meta.tables["unit"]

        def __repr__(self):
            return self.name

    class StockCustomer(Model):
        __table__ = meta.tables["customer"]

        def __repr__(self):
            return self.name

    class StockApplication(Model):
        __table__ = meta.tables["application"]
        customer = relationship(StockCustomer, foreign_keys=[meta.tables["application"].c.customer_id])
        owner = relationship(User, foreign_keys=[meta.tables["application"].c.owner_id])

        def __repr__(self):
            return self.number or f"#{self.id}"

    class StockHistory(Model):
        __table__ = meta.tables["workflow_history"]
        application = relationship(StockApplication)

    _CLASSES.update(unit=StockUnit, customer=StockCustomer, application=StockApplication, history=StockHistory)
    return _CLASSES


def create_app() -> Flask:
    url = os.environ["STOCK_DATABASE_URL"]
    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=os.environ.get("SECRET_KEY", "stock-bench"),
                      AUTH_TYPE=1, AUTH_ROLE_ADMIN="admin", AUTH_ROLE_PUBLIC="public",
                      FAB_CREATE_DB=False, WTF_CSRF_ENABLED=True, FAB_API_SWAGGER_UI=False)
    from flask_appbuilder.models.sqla.base import SQLA

    # Permissions for these views are written once (bench/scale.py runs with STOCK_UPDATE_PERMS=1).
    update = os.environ.get("STOCK_UPDATE_PERMS") == "1"
    app.config["FAB_UPDATE_PERMS"] = update
    db = SQLA(app)
    with app.app_context():
        classes = _classes(create_engine(url))
        appbuilder = AppBuilder(app, db.session, update_perms=update)

        class ApplicationModelView(ModelView):
            datamodel = SQLAInterface(classes["application"])
            list_columns = ["number", "customer", "business_type", "customer_type", "capacity_kw", "accepted_on",
                            "owner", "stage"]
            search_columns = ["number", "business_type", "stage", "owner", "accepted_on"]

        class CustomerModelView(ModelView):
            datamodel = SQLAInterface(classes["customer"])
            list_columns = ["name", "customer_type", "phone", "address"]
            search_columns = ["name", "customer_type", "phone"]

        class HistoryModelView(ModelView):
            datamodel = SQLAInterface(classes["history"])
            list_columns = ["application", "at", "trigger", "from_stage", "to_stage", "user_name"]

        class ApplicationModelApi(ModelRestApi):
            resource_name = "application"
            datamodel = SQLAInterface(classes["application"])
            list_columns = ["id", "number", "customer.name", "business_type", "customer_type", "capacity_kw",
                            "accepted_on", "stage"]

        appbuilder.add_view(ApplicationModelView, "Applications", category="Stock")
        appbuilder.add_view(CustomerModelView, "Customers", category="Stock")
        appbuilder.add_view(HistoryModelView, "History", category="Stock")
        appbuilder.add_api(ApplicationModelApi)
    return app
