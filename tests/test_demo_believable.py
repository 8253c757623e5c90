"""Demo data a user believes (issue 12): steps in office hours, dates not after the step that recorded
them, businesses not on household tariffs, staff recorded with their own units."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, text

from app.i18n import SHANGHAI
from app.workflow import working_hours


def _aware(value) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _day(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


@pytest.fixture(scope="module")
def app(backend, tmp_path_factory):
    """The demo loaded into a database of its own: other tests take steps on the suite's demo now."""
    from conftest import database_url, demo_app

    with demo_app(database_url(backend, tmp_path_factory, name="h2demo")) as application:
        yield application


@pytest.fixture()
def history(app):
    with app.app_context():
        session = app.extensions["yekuotong"].db.session
        rows = session.execute(text(
            "SELECT h.application_id, h.at, h.kind, h.trigger, h.changes, h.unit_name, u.username, n.name "
            "FROM workflow_history h LEFT JOIN ab_user u ON u.id = h.user_id "
            "LEFT JOIN unit n ON n.id = u.unit_id ORDER BY h.id")).all()
        session.rollback()
    assert len(rows) > 300
    return rows


def test_every_recorded_step_is_in_office_hours_on_a_working_day(app, history):
    calendar = app.extensions["yekuotong"].calendar_service
    outside = [(r.application_id, r.kind, r.trigger, _aware(r.at).astimezone(SHANGHAI).isoformat())
               for r in history if not working_hours.within(_aware(r.at), calendar.is_workday)]
    assert outside == []
    kinds = {r.kind for r in history}
    assert {"create", "transition", "signoff", "record"} <= kinds


def test_dates_are_not_after_the_step_that_recorded_them(app, history):
    core = app.extensions["yekuotong"]
    dates = {name for name, f in core.engine.entity.fields.items() if f.type == "date"} - {"temp_end_date"}
    checked = 0
    for row in history:
        for name, (_before, after) in json.loads(row.changes or "{}").items():
            if name in dates and after:
                checked += 1
                assert _day(after) <= _aware(row.at).astimezone(SHANGHAI).date(), (row.application_id, name, after)
    assert checked > 30


def test_acceptance_dates_are_the_day_of_acceptance(app, history):
    created = {r.application_id: _aware(r.at).astimezone(SHANGHAI).date() for r in history if r.kind == "create"}
    core = app.extensions["yekuotong"]
    with app.app_context():
        cls = core.orm["application"]
        rows = core.db.session.execute(select(cls.id, cls.accepted_on, cls.survey_date, cls.acceptance_date)).all()
        core.db.session.rollback()
    assert len(rows) == 36
    for pk, accepted, survey, acceptance in rows:
        assert accepted == created[pk]
        for later in (survey, acceptance):
            assert later is None or later >= accepted, (pk, later, accepted)


def test_businesses_are_not_on_household_tariffs(app):
    core = app.extensions["yekuotong"]
    with app.app_context():
        cls = core.orm["application"]
        rows = core.db.session.execute(select(cls.customer_type, cls.tariff_category)
                                       .where(cls.tariff_category.is_not(None))).all()
        core.db.session.rollback()
    assert {t for t, _ in rows} == {"residential", "non_residential"}
    for customer_type, tariff in rows:
        assert (tariff == "residential") == (customer_type == "residential"), (customer_type, tariff)


def test_staff_are_recorded_with_their_own_units(history):
    staff = [r for r in history if r.username]
    assert staff
    for row in staff:
        assert row.name and row.unit_name == row.name, (row.username, row.unit_name, row.name)
    signers = {(r.username, r.unit_name) for r in history if r.kind == "signoff"}
    assert ("billing", "电费管理中心") in signers and ("safety", "安全监察部") in signers


def test_office_hours_move_a_moment_to_the_next_opening_or_the_last_closing():
    weekdays = lambda d: d.weekday() < 5  # noqa: E731
    friday_night = dt.datetime(2026, 11, 27, 20, 0, tzinfo=SHANGHAI)
    assert working_hours.next_open(friday_night, weekdays) == dt.datetime(2026, 11, 30, 8, 30, tzinfo=SHANGHAI)
    assert working_hours.last_open(friday_night, weekdays) == dt.datetime(2026, 11, 27, 17, 30, tzinfo=SHANGHAI)
    monday_early = dt.datetime(2026, 11, 30, 7, 0, tzinfo=SHANGHAI)
    assert working_hours.next_open(monday_early, weekdays) == dt.datetime(2026, 11, 30, 8, 30, tzinfo=SHANGHAI)
    assert working_hours.last_open(monday_early, weekdays) == dt.datetime(2026, 11, 27, 17, 30, tzinfo=SHANGHAI)
    noon = dt.datetime(2026, 11, 30, 12, 0, tzinfo=SHANGHAI)
    assert working_hours.next_open(noon, weekdays) == noon == working_hours.last_open(noon, weekdays)
