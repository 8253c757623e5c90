"""The working-day calendar held in the database: seeding, the cached service, `flask calendar`,
the administrator's month screen.

The `app` fixture is shared by the whole session: every test here puts back what it changes
(imported years are unloaded, changed days reset).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.deadlines.calendar_seed import seed_from_package
from app.deadlines.calendar_store import CalendarService, ensure_seeded, seed_after_apply, workdays_in_year
from app.deadlines.calendar_tables import CalendarDay, CalendarError, CalendarYear
from app.i18n import model_gettext

D = dt.date
NOTICES = Path(__file__).parent / "fixtures" / "notices"
GOOD_2027 = NOTICES / "2027_test.csv"  # an invented schedule, not the official one


@pytest.fixture()
def service(app):
    """The app's calendar service, on a seeded database.

    No app context is held open here: test-client requests would share its `g` (and so the
    signed-in user) with each other.
    """
    ensure_seeded(app)
    return app.extensions["yekuotong"].calendar_service


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["calendar", *args])


def counts(app) -> tuple[int, int]:
    with app.app_context():
        session = app.extensions["yekuotong"].db.session
        result = (session.scalar(select(func.count()).select_from(CalendarDay)),
                  session.scalar(select(func.count()).select_from(CalendarYear)))
        session.rollback()
        return result


def provisional_marker(app, value: str) -> str:
    gettext = model_gettext(app.config["BABEL_DEFAULT_LOCALE"], app.config["BABEL_TRANSLATION_DIRECTORIES"])
    text = gettext("{value} (provisional)").format(value=value)
    assert text.startswith(value) and text != value  # " (provisional)" or the zh marker
    return text


@pytest.fixture()
def unload_2027(app):
    """Whatever a test loads for 2027 is forgotten afterwards."""
    yield
    with app.app_context():
        core = app.extensions["yekuotong"]
        core.calendar_service.unload_year(core.db.session, 2027)


# ---- seeding and the service -----------------------------------------------------------------

def test_seeding_is_idempotent_and_2026_has_248_workdays(app, service, db):
    before = counts(app)
    assert seed_from_package(db) == []
    db.rollback()
    assert seed_after_apply(db) == []
    assert counts(app) == before
    years = set(db.scalars(select(CalendarYear.year)))
    assert set(range(2004, 2027)) <= years
    # Only the special days are stored: official days off and make-up workdays.
    assert before[0] < 1000
    assert db.scalar(select(func.count()).select_from(CalendarDay).where(
        CalendarDay.kind == "workday", CalendarDay.day >= D(2026, 1, 1))) == 6
    cal = service.calendar()
    assert workdays_in_year(cal, 2026) == 248
    assert set(range(2004, 2027)) <= cal.loaded_years
    assert service.is_workday(D(2026, 10, 10)) and not service.is_workday(D(2026, 10, 7))
    assert service.add_working_days(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert service.is_provisional(D(2027, 3, 1))
    assert db.get(CalendarDay, D(2026, 10, 1)).name == "国庆节"


def test_calendar_is_cached_and_rebuilt_only_on_change(app, service):
    cal = service.calendar()
    assert service.calendar() is cal
    # Another process (a second service on the same database, checking at every call) sees
    # nothing new and keeps its calendar; after a change it rebuilds.
    other = CalendarService(service.engine, check_every=0)
    first = other.calendar()
    assert other.calendar() is first and other.builds == 1
    day = D(2026, 11, 30)  # a Monday
    with app.app_context():
        session = app.extensions["yekuotong"].db.session
        try:
            assert service.set_day(session, day, "holiday", "测试")
            assert service.calendar() is not cal  # rebuilt at once in the writing process
            assert not service.is_workday(day)
            assert not other.calendar().is_workday(day) and other.builds == 2
        finally:
            service.set_day(session, day, "default")
    assert other.calendar().is_workday(day) and service.is_workday(day)


def test_unloaded_years_within(service):
    assert service.unloaded_years_within(days=60, today=D(2026, 11, 15)) == [2027]
    assert service.unloaded_years_within(days=60, today=D(2026, 6, 1)) == []
    assert service.unloaded_years_within(days=400, today=D(2026, 6, 1)) == [2027]


# ---- flask calendar ... ------------------------------------------------------------------------

def test_cli_add_workdays_and_is_workday(app, service):
    result = cli(app, "add-workdays", "2026-09-30", "1")
    assert result.exit_code == 0 and result.output == "2026-10-08\n"
    result = cli(app, "add-workdays", "2026-02-13", "1")
    assert result.output == "2026-02-14\n"  # Saturday make-up workday
    result = cli(app, "add-workdays", "2026-12-31", "1")  # lands in provisional 2027
    assert result.exit_code == 0 and result.output == provisional_marker(app, "2027-01-04") + "\n"
    assert cli(app, "is-workday", "2026-10-10").output == "true\n"
    assert cli(app, "is-workday", "2026-10-01").output == "false\n"
    assert cli(app, "is-workday", "2027-01-01").output == provisional_marker(app, "false") + "\n"
    assert cli(app, "is-workday", "2027-01-04").output == provisional_marker(app, "true") + "\n"


@pytest.mark.parametrize("args", [("is-workday", "2026-02-30"), ("is-workday", "tomorrow"),
                                  ("add-workdays", "2026/09/30", "1"), ("add-workdays", "2026-09-30", "-1"),
                                  ("add-workdays", "1999-01-01", "1")])
def test_cli_bad_input_is_a_usage_error(app, service, args):
    result = cli(app, *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_cli_years_lists_loaded_years(app, service):
    result = cli(app, "years")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith("2004  chinesecalendar") and any(line.startswith("2026  ") for line in lines)


def test_import_notice_loads_2027_and_runs_callbacks(app, service, unload_2027):
    loaded = []
    service.on_year_loaded.append(loaded.append)
    try:
        assert cli(app, "add-workdays", "2027-02-04", "1").output == provisional_marker(app, "2027-02-09") + "\n"
        before = counts(app)
        result = cli(app, "import", str(GOOD_2027))
        assert result.exit_code == 0, result.output
        assert "2027" in result.output and "27" in result.output  # 27 holidays
        assert loaded == [2027]
        assert counts(app) == (before[0] + 33, before[1] + 1)
        cal = service.calendar()
        assert 2027 in cal.loaded_years and not cal.is_provisional(D(2027, 3, 1))
        assert service.unloaded_years_within(days=60, today=D(2026, 11, 15)) == []
        assert cli(app, "is-workday", "2027-01-31").output == "true\n"   # Sunday make-up
        assert cli(app, "is-workday", "2027-02-11").output == "false\n"  # Thursday in the break
        assert cli(app, "add-workdays", "2027-02-04", "1").output == "2027-02-12\n"
        assert cli(app, "add-workdays", "2026-12-31", "1").output == "2027-01-04\n"
        assert "2027  import" in cli(app, "years").output

        # The same year again: refused, nothing written, no callback.
        again = cli(app, "import", str(GOOD_2027))
        assert again.exit_code == 1
        assert "2027" in again.output and "error already_loaded" in again.output
        assert counts(app) == (before[0] + 33, before[1] + 1)
        assert loaded == [2027]
    finally:
        service.on_year_loaded.remove(loaded.append)


def test_import_yaml_notice(app, service, unload_2027):
    result = cli(app, "import", str(NOTICES / "2027_test.yaml"))
    assert result.exit_code == 0, result.output
    assert service.is_workday(D(2027, 1, 31)) and not service.is_workday(D(2027, 2, 11))


@pytest.mark.parametrize("name, code", [("2027_bad_wrong_year.csv", "wrong_year"),
                                        ("2027_bad_weekday_makeup.csv", "weekday_makeup")])
def test_bad_notice_writes_nothing(app, service, unload_2027, name, code):
    loaded = []
    service.on_year_loaded.append(loaded.append)
    try:
        before = counts(app)
        result = cli(app, "import", str(NOTICES / name))
        assert result.exit_code == 1
        line = next(line for line in result.output.splitlines() if f"error {code}" in line)
        assert line.startswith(f"{NOTICES / name}:6: error {code}: ")
        gettext = model_gettext(app.config["BABEL_DEFAULT_LOCALE"], app.config["BABEL_TRANSLATION_DIRECTORIES"])
        if code == "weekday_makeup":  # translated like `flask model check`
            assert gettext("Make-up workday {date} is already a weekday (Monday to Friday).").format(
                date="2027-02-17") in line
        assert counts(app) == before
        assert service.is_provisional(D(2027, 1, 1)) and loaded == []
    finally:
        service.on_year_loaded.remove(loaded.append)


def test_import_missing_file_is_a_usage_error(app, service):
    result = cli(app, "import", str(NOTICES / "no_such_notice.csv"))
    assert result.exit_code == 2


def test_load_notice_outside_span_is_refused(app, service):
    from app.workflow.notice import parse_notice

    notice = parse_notice("# year: 2041\ndate,kind,name\n2041-01-01,holiday,元旦\n")
    before = counts(app)
    with app.app_context(), pytest.raises(CalendarError) as info:
        service.load_notice(app.extensions["yekuotong"].db.session, notice)
    assert info.value.code == "outside_span"
    assert counts(app) == before


# ---- the administrator's screen ----------------------------------------------------------------

def test_month_screen_in_chinese_for_admin_only(app, service, login):
    response = login("admin").get("/calendar/2026/10/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "2026年10月" in html and "周一" in html and "周日" in html
    assert html.index("周一") < html.index("周日")  # Monday first
    assert "国庆节" in html and 'data-date="2026-10-10" data-status="makeup"' in html
    assert 'data-date="2026-10-01" data-status="holiday"' in html
    assert 'data-date="2026-10-12" data-status="workday"' in html
    assert 'data-date="2026-10-11" data-status="weekend"' in html
    assert login("clerk").get("/calendar/2026/10/").status_code == 403
    assert login("clerk").post("/calendar/day", data={"day": "2026-11-30", "action": "holiday"}).status_code == 403
    assert service.is_workday(D(2026, 11, 30))


def test_month_screen_marks_provisional_year(app, service, login):
    with app.test_request_context():
        from flask_babel import gettext

        banner = gettext("Provisional (official schedule not loaded)")
    html = login("admin").get("/calendar/2027/2/").get_data(as_text=True)
    assert banner in html
    assert "2027年2月" in html
    html = login("admin").get("/calendar/2026/2/").get_data(as_text=True)
    assert banner not in html


def test_month_screen_selected_day_and_bad_months(app, service, login):
    client = login("admin")
    html = client.get("/calendar/2026/11/?day=2026-11-28").get_data(as_text=True)
    assert 'name="action" value="workday"' in html and "2026-11-28" in html  # a Saturday
    html = client.get("/calendar/2026/11/?day=2026-11-30").get_data(as_text=True)
    assert 'name="action" value="holiday"' in html and 'value="workday"' not in html  # a Monday
    assert client.get("/calendar/2026/13/").status_code == 404
    assert client.get("/calendar/2099/1/").status_code == 404
    assert client.get("/calendar/").status_code == 200
    assert "2026年10月" in client.get("/calendar/?ym=2026-10").get_data(as_text=True)


def test_toggling_days_through_the_screen(app, service, login):
    client = login("admin")
    monday, saturday = D(2026, 11, 30), D(2026, 11, 28)
    changed = []
    service.on_day_changed.append(changed.append)
    try:
        response = client.post("/calendar/day", data={"day": "2026-11-30", "action": "holiday", "name": "测试假日"})
        assert response.status_code == 302 and "/calendar/2026/11/" in response.headers["Location"]
        assert not service.is_workday(monday)
        with app.app_context():
            row = app.extensions["yekuotong"].db.session.get(CalendarDay, monday)
            assert (row.kind, row.name, row.source) == ("holiday", "测试假日", "admin")
            app.extensions["yekuotong"].db.session.rollback()
        html = client.get("/calendar/2026/11/").get_data(as_text=True)
        assert 'data-date="2026-11-30" data-status="holiday"' in html and "测试假日" in html

        client.post("/calendar/day", data={"day": "2026-11-28", "action": "workday"})
        assert service.is_workday(saturday)
        assert service.add_working_days(D(2026, 11, 27), 1) == saturday

        client.post("/calendar/day", data={"day": "2026-11-30", "action": "default"})
        client.post("/calendar/day", data={"day": "2026-11-28", "action": "default"})
        assert service.is_workday(monday) and not service.is_workday(saturday)
        assert changed == [monday, saturday, monday, saturday]
        # Resetting a day without a row changes nothing.
        html = client.post("/calendar/day", data={"day": "2026-11-30", "action": "default"},
                           follow_redirects=True).get_data(as_text=True)
        assert changed == [monday, saturday, monday, saturday] and "2026-11-30" in html
    finally:
        service.on_day_changed.remove(changed.append)
        with app.app_context():
            session = app.extensions["yekuotong"].db.session
            for day in (monday, saturday):
                service.set_day(session, day, "default")


def test_weekday_make_up_refused_in_chinese(app, service, login):
    before = counts(app)
    response = login("admin").post("/calendar/day", data={"day": "2026-12-02", "action": "workday"},
                                   follow_redirects=True)
    html = response.get_data(as_text=True)
    with app.test_request_context():
        from flask_babel import gettext

        expected = gettext("{date} is a {weekday}: only a Saturday or Sunday can be a make-up workday.").format(
            date="2026-12-02", weekday="星期三")
    assert response.status_code == 200
    assert expected in html and "星期三" in html  # 2026-12-02 is a Wednesday
    assert counts(app) == before and service.is_workday(D(2026, 12, 2))


def test_changing_a_provisional_year_is_refused(app, service, login):
    before = counts(app)
    html = login("admin").post("/calendar/day", data={"day": "2027-03-01", "action": "holiday"},
                               follow_redirects=True).get_data(as_text=True)
    assert "2027" in html
    assert counts(app) == before and service.is_workday(D(2027, 3, 1))
    with app.app_context(), pytest.raises(CalendarError) as info:
        service.set_day(app.extensions["yekuotong"].db.session, D(2027, 3, 1), "holiday")
    assert info.value.code == "year_not_loaded"


def test_bad_post_is_rejected(app, service, login):
    client = login("admin")
    assert client.post("/calendar/day", data={"day": "2026-11-30", "action": "explode"}).status_code == 400
    assert client.post("/calendar/day", data={"day": "30/11/2026", "action": "holiday"}).status_code == 400
    assert service.is_workday(D(2026, 11, 30))
