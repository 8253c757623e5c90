"""Model versions: `model apply` stores numbered versions, refuses an invalid model or a stale one (two
admins at once), rolls back by re-applying an earlier text, and leaves running timers and proposed fines
as they were while new applications use the new values."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from conftest import database_url, make_app
from test_migrate import BASE, apply as cli_apply, sql

RESIDENTIAL_DAYS = '      - {when: "customer_type == residential", days: 3}'
A1 = "target: {role: clerk}, amount: 20}"
SURVEY_LABEL = "label_zh: 现场勘查时限"
CHANGED = (BASE.replace(RESIDENTIAL_DAYS, RESIDENTIAL_DAYS.replace("days: 3", "days: 2"), 1)
           .replace(A1, A1.replace("20", "25"), 1)
           .replace(SURVEY_LABEL, "label_zh: 现场勘查时限（新）", 1))


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request, tmp_path_factory):
    """A fresh database with the default model applied as version 1 and the demo data loaded."""
    from app.demo import load_demo
    from app.versions.apply import apply_model

    url = database_url(request.param, tmp_path_factory, name="versions")
    app = make_app(url)
    with app.app_context():
        first = apply_model(BASE, source="model.yaml", comment="首次应用", user="admin")
        load_demo()
    assert first.number == 1 and first.previous is None
    yield url, app
    with app.app_context():
        app.extensions["yekuotong"].db.session.remove()
        app.extensions["yekuotong"].db.engine.dispose()


def _versions(url):
    return sql(url, "SELECT number, applied_by, comment FROM model_revision ORDER BY number")


def test_versions_are_numbered_and_an_invalid_model_is_refused_with_its_positions(fresh):
    from app.security.audit import AuditEntry
    from app.versions import store
    from app.versions.apply import ApplyRefused, apply_model

    url, app = fresh
    with app.app_context():
        session = app.extensions["yekuotong"].db.session
        active = store.active(session)
        assert (active.number, active.content, active.applied_by, active.comment) == (1, BASE, "admin", "首次应用")
        assert apply_model(BASE, source="model.yaml").up_to_date  # the same text: no new version
        broken = BASE.replace("    limit: 3\n", "    limit: three\n", 1)
        with pytest.raises(ApplyRefused) as refused:
            apply_model(broken, source="model.yaml", user="admin")
        lines = refused.value.lines()
        line = BASE[:BASE.index("    limit: 3\n")].count("\n") + 1
        assert refused.value.kind == "invalid" and any(f"model.yaml:{line}:" in text for text in lines), lines
        assert len(store.versions(session)) == 1
        logged = session.scalars(select(AuditEntry).where(AuditEntry.action == "model.apply")).all()
        assert logged and '"number": 1' in logged[-1].details and "首次应用" in logged[-1].details


def test_a_second_admin_on_a_stale_version_is_told_who_applied_what_and_when(fresh):
    from app.versions import store
    from app.versions.apply import ApplyRefused, apply_model

    url, app = fresh
    with app.app_context():
        first = apply_model(CHANGED, source="editor", comment="甲改时限", user="甲管理员", based_on=1)
        assert first.number == 2 and first.previous == 1
        with pytest.raises(ApplyRefused) as refused:
            apply_model(BASE.replace("label_zh: 登记初审时限", "label_zh: 初审时限", 1), source="editor",
                        user="乙管理员", based_on=1)
        gettext = _zh(app)
        text = refused.value.lines(gettext)[0]
        assert "甲管理员" in text and "版本 2" in text and ":" in text, text
        assert store.active(app.extensions["yekuotong"].db.session).number == 2
    assert [row[:2] for row in _versions(url)] == [(1, "admin"), (2, "甲管理员")]


def test_in_flight_cases_keep_due_dates_and_fines_while_new_cases_use_the_new_model(fresh):
    from app.versions.apply import apply_model

    url, app = fresh
    with app.app_context():
        core = app.extensions["yekuotong"]
        session = core.db.session
        auditor = _user(core, "auditor")
        old_fine = core.ledger.record_incident(session, auditor, "attitude_no_complaint", _user(core, "clerk").id,
                                               "客户反映态度差")
        session.commit()
        old_fine_id = old_fine.id
        before_case = _new_case(core)
    timers_before = dict(sql(url, "SELECT id, due_at FROM sla_timer"))
    with app.app_context():
        result = apply_model(CHANGED, source="model.yaml", comment="时限缩短", user="admin")
    assert result.number == 2 and result.operations == []  # no schema change: limits and amounts only
    assert dict(sql(url, "SELECT id, due_at FROM sla_timer WHERE id IN (%s)" % ",".join(map(str, timers_before)))) \
        == timers_before
    assert sql(url, f"SELECT amount FROM fine_entry WHERE id = {old_fine_id}")[0][0] == 20

    served = make_app(url)  # a process started now serves the active version
    with served.app_context():
        core = served.extensions["yekuotong"]
        assert core.version_number == 2 and core.model.timers["survey"].label_zh == "现场勘查时限（新）"
        new_fine = core.ledger.record_incident(core.db.session, _user(core, "auditor"), "attitude_no_complaint",
                                               _user(core, "clerk").id, "又一次")
        core.db.session.commit()
        assert new_fine.amount == 25
        after_case = _new_case(core)
        core.db.session.remove()
        core.db.engine.dispose()
    accepted = dict(sql(url, f"SELECT id, model_version FROM application WHERE id IN ({before_case}, {after_case})"))
    assert accepted == {before_case: 1, after_case: 2}
    due = dict(sql(url, "SELECT application_id, due_at FROM sla_timer WHERE timer = 'plan_reply' AND "
                        f"application_id IN ({before_case}, {after_case})"))
    assert due[after_case] < due[before_case]  # 2 working days now, 3 when the first was accepted


def test_rollback_is_an_apply_of_an_earlier_version(fresh, tmp_path):
    url, app = fresh
    with app.app_context():
        from app.versions.apply import apply_model

        apply_model(CHANGED, source="model.yaml", user="admin")
    result = cli_apply(url, CHANGED, tmp_path, "--version", "1", "--comment", "改回")
    assert result.returncode == 0, result.stderr
    assert "已应用版本 3" in result.stdout, result.stdout
    assert len(result.stdout.splitlines()) < 20
    rows = sql(url, "SELECT number, content, comment FROM model_revision ORDER BY number")
    assert rows[-1] == (3, BASE, "改回")
    missing = cli_apply(url, CHANGED, tmp_path, "--version", "9")
    assert missing.returncode == 1 and "没有可应用的已存版本 9" in missing.stderr
    again = cli_apply(url, CHANGED, tmp_path, "--version", "3", "--lang", "en")
    assert again.returncode == 0 and again.stdout.strip() == "The database is up to date (version 3).", again.stdout


def _zh(app):
    from app.i18n import model_gettext

    return model_gettext("zh", app.config["BABEL_TRANSLATION_DIRECTORIES"])


def _user(core, name):
    from app.security.user import StaffUser

    return core.db.session.scalars(select(StaffUser).where(StaffUser.username == name)).one()


def _new_case(core) -> int:
    session = core.db.session
    customer = session.scalars(select(core.orm["customer"]).limit(1)).first()
    row = core.orm["application"](customer_id=customer.id, business_type="new", customer_type="residential",
                                  address="版本路1号", capacity_kw=3, accepted_by_id=_user(core, "clerk").id)
    session.add(row)
    session.commit()
    assert session.scalar(select(func.count()).select_from(core.orm["application"])) > 0
    return row.id
