"""Issue 14: the national "获得电力" model (examples/model.national-2025.yaml) applied over the county model
with the demo applications in flight (every county stage holds cases). Without a mapping the apply is
refused naming the stranded applications and nothing changes; with the example's `migrate:` block it is
applied: every in-flight case sits in a national stage with a history row, running timers and proposed
fines are kept, new applications follow the national 5/15-day limit, and the pages answer in national
words. Then the county text is applied again with the reverse mapping. SQLite and PostgreSQL."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from conftest import PASSWORDS, database_url, make_app
from test_migrate import sql

ROOT = Path(__file__).resolve().parent.parent
COUNTY = (ROOT / "model.yaml").read_text(encoding="utf-8")
NATIONAL = (ROOT / "examples" / "model.national-2025.yaml").read_text(encoding="utf-8")
# Back to the county model: the two national-only stages, the national-only choice values. The county
# document kinds merged into 其他资料 cannot come back as they were: the rollback names one kind for them.
REVERSE = """migrate:
  stages: {line_works: construction, filing: billing_account}
  values:
    unit.kind: {other: marketing}
    document.kind: {property_proof: building_permit, other: special_certificate}
"""


def _mapped(text: str) -> tuple[str, dict]:
    """The example with its commented `migrate:` block uncommented, and that block read."""
    block = re.search(r"^# migrate:\n((?:#   .*\n)+)", text, re.M)
    assert block, "the example keeps its county -> national mapping as a comment"
    uncommented = re.sub(r"^# ", "", block.group(0), flags=re.M)
    return text[:block.start()] + uncommented + text[block.end():], yaml.safe_load(uncommented)["migrate"]


MAPPED, MAPPING = _mapped(NATIONAL)
STAGE_MAP = MAPPING["stages"]
NATIONAL_STAGES = ("acceptance", "line_works", "meter_installation", "power_on", "filing", "archive", "cancelled")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def county(request, tmp_path_factory):
    """The county model applied as version 1 with the demo applications (every stage holds cases)."""
    from app.demo import load_demo
    from app.versions.apply import apply_model

    url = database_url(request.param, tmp_path_factory, name="h3bnat")
    app = make_app(url)
    with app.app_context():
        apply_model(COUNTY, source="model.yaml", comment="县公司细则", user="admin")
        load_demo()
    yield url, app
    with app.app_context():
        app.extensions["yekuotong"].db.session.remove()
        app.extensions["yekuotong"].db.engine.dispose()


def _snapshot(url):
    return {
        "cases": sql(url, "SELECT number, stage, lock_version FROM application ORDER BY number"),
        "history": sql(url, "SELECT count(*) FROM workflow_history")[0][0],
        "versions": sql(url, "SELECT number FROM model_revision ORDER BY number"),
        "timers": sql(url, "SELECT id, timer, status, due_at FROM sla_timer ORDER BY id"),
        "fines": sql(url, "SELECT id, status, amount FROM fine_entry ORDER BY id"),
        "columns": _columns(url),
    }


def _columns(url):
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        return sorted(c["name"] for c in sa.inspect(engine).get_columns("application"))
    finally:
        engine.dispose()


def test_a_set_for_a_stage_no_case_moves_to_or_an_unknown_field_is_an_error():
    from app.model.loader import load_text
    from app.model.problems import ModelError

    bad = MAPPED.replace("    line_works: {needs_line_works: true}", "    meter_installation: {needs_line_work: true}", 1)
    assert bad != MAPPED
    with pytest.raises(ModelError) as refused:
        load_text(bad, "national.yaml")
    codes = {p.code for p in refused.value.problems}
    assert codes == {"M501", "M204"}, codes
    assert load_text(MAPPED, "national.yaml").model.migrate.set == {"line_works": {"needs_line_works": True}}


def test_1_without_the_mapping_it_is_refused_naming_the_stranded_applications(county):
    from app.versions.apply import ApplyRefused, apply_model

    url, app = county
    before = _snapshot(url)
    stages = {s for _n, s, _l in before["cases"]}
    assert set(STAGE_MAP) <= stages  # the demo has cases in every county stage the national model lacks
    at_design_review = [n for n, s, _l in before["cases"] if s == "design_review"]
    with app.app_context():
        for text in (NATIONAL, MAPPED):  # without --force the dropped county fields refuse it too
            with pytest.raises(ApplyRefused) as refused:
                apply_model(text, source="examples/model.national-2025.yaml", comment="国家标准", user="admin")
            if text is NATIONAL:
                assert refused.value.kind == "stranded"
                words = "\n".join(refused.value.lines(_zh(app)))
                assert "删除环节：设计审查" in words and all(n in words for n in at_design_review), words
                stranded = {n for s in refused.value.strandings for n in s.numbers}
                assert {n for n, s, _l in before["cases"] if s in STAGE_MAP} <= stranded
            else:
                assert refused.value.kind == "losses"
                assert any("needs_engineering" in line for line in refused.value.lines())
    assert _snapshot(url) == before  # schema, active version, cases, timers, fines: unchanged


def test_2_with_the_mapping_every_case_moves_with_its_timers_and_fines(county):
    from app.versions.apply import apply_model

    url, app = county
    before = _snapshot(url)
    stage_of = {n: s for n, s, _l in before["cases"]}
    with app.app_context():
        result = apply_model(MAPPED, source="examples/model.national-2025.yaml", comment="改用国家标准",
                             user="管理员甲", force=True)
    moving = {n: STAGE_MAP[s] for n, s in stage_of.items() if s in STAGE_MAP}
    assert result.number == 2 and result.previous == 1 and result.moved == len(moving)
    after = dict((n, s) for n, s, _l in sql(url, "SELECT number, stage, 0 FROM application"))
    assert set(after.values()) <= set(NATIONAL_STAGES)
    assert after == {n: moving.get(n, s) for n, s in stage_of.items()}
    rows = sql(url, "SELECT a.number, h.from_stage, h.to_stage, h.comment, h.user_name FROM workflow_history h "
                    "JOIN application a ON a.id = h.application_id WHERE h.kind = 'migration' AND "
                    "h.from_stage <> h.to_stage ORDER BY a.number")
    assert {r[0]: (r[1], r[2]) for r in rows} == {n: (stage_of[n], m) for n, m in moving.items()}
    assert {(r[3], r[4]) for r in rows} == {("模型版本迁移", "管理员甲")}
    # `migrate: {set: {line_works: {needs_line_works: true}}}`: the cases moved there have works to finish
    # (the 15-day branch), and their history row says so; the others hold no value yet.
    works = dict(sql(url, "SELECT number, needs_line_works FROM application"))
    assert {n for n, v in works.items() if v} == {n for n, m in moving.items() if m == "line_works"}
    assert {v for n, v in works.items() if n not in moving or moving[n] != "line_works"} == {None}
    changes = sql(url, "SELECT h.changes FROM workflow_history h WHERE h.kind = 'migration' "
                       "AND h.to_stage = 'line_works' AND h.from_stage <> h.to_stage")
    assert changes and {json.loads(c) and tuple(json.loads(c)["needs_line_works"]) for (c,) in changes} == {
        (None, True)}
    kinds = {k for (k,) in sql(url, "SELECT DISTINCT kind FROM document")}
    assert "other" in kinds and kinds <= {"id_card_copy", "business_licence", "property_proof", "other"}
    assert sql(url, "SELECT number, applied_by, comment, version FROM model_revision WHERE number = 2") == [
        (2, "管理员甲", "改用国家标准", "2025.national-1")]
    # No county timer is in the national model: the open ones are closed ("cancelled", their due date
    # kept, no breach for the time after the apply) with a history row each; closed ones stay as they were.
    timers_after = {r[0]: r for r in sql(url, "SELECT id, timer, status, due_at FROM sla_timer")}
    open_before = [r for r in before["timers"] if r[2] in ("running", "paused", "overdue")]
    assert len(open_before) >= 10
    for row in before["timers"]:
        expected = (row[0], row[1], "cancelled", row[3]) if row in open_before else row
        assert timers_after[row[0]] == expected
    assert not [r for r in timers_after.values() if r[1] == "whole_process"]  # none starts for old cases
    notes = sql(url, "SELECT count(*) FROM workflow_history WHERE kind = 'migration' AND from_stage = to_stage "
                     "AND comment LIKE '模型版本迁移：时限 %已不再适用'")[0][0]
    assert notes == len({(r[0], r[1]) for r in open_before}) or notes == len(open_before)
    assert sql(url, "SELECT id, status, amount FROM fine_entry ORDER BY id") == before["fines"]
    assert "needs_engineering" not in _columns(url) and "needs_line_works" in _columns(url)
    # The rebuilt application table is still guarded: history cannot be rewritten, a fine cannot name a
    # missing application (the integrity triggers survive the apply on both backends).
    with pytest.raises(Exception):
        sql(url, "DELETE FROM workflow_history WHERE kind = 'migration'")
    with pytest.raises(Exception):
        sql(url, "UPDATE fine_entry SET application_id = 999999")
    assert sql(url, "SELECT id, status, amount FROM fine_entry ORDER BY id") == before["fines"]


def test_3_new_applications_follow_the_national_limit_and_pages_speak_national(county):
    from app.security.user import StaffUser

    url, _app = county
    served = make_app(url)  # a process started now serves the active version (2)
    with served.app_context():
        core = served.extensions["yekuotong"]
        assert core.version_number == 2 and "line_works" in core.model.workflow.stages
        session = core.db.session
        clerk = session.scalars(select(StaffUser).where(StaffUser.username == "clerk")).one()
        customer = session.scalars(select(core.orm["customer"]).limit(1)).first()
        ids = []
        for works in (False, True):
            row = core.orm["application"](customer_id=customer.id, business_type="new",
                                          customer_type="residential", address="国标路1号", capacity_kw=8,
                                          needs_line_works=works, accepted_by_id=clerk.id)
            session.add(row)
            session.commit()
            ids.append(row.id)
        session.remove()
    limits = dict(sql(url, f"SELECT a.needs_line_works, t.limit_days FROM sla_timer t JOIN application a "
                           f"ON a.id = t.application_id WHERE t.timer = 'whole_process' AND a.id IN ({ids[0]}, {ids[1]})"))
    assert {bool(k): v for k, v in limits.items()} == {False: 5, True: 15}
    assert {v for (v,) in sql(url, f"SELECT model_version FROM application WHERE id IN ({ids[0]}, {ids[1]})")} == {2}

    moved_id, moved_number = sql(url, "SELECT a.id, a.number FROM application a JOIN workflow_history h ON "
                                      "h.application_id = a.id WHERE h.kind = 'migration' AND "
                                      "h.to_stage = 'line_works' ORDER BY a.number")[0]
    for user, pages in (("admin", ["/", "/todo/", "/application/list/", f"/application/show/{moved_id}"]),
                        ("manager", ["/", "/todo/"])):
        client = served.test_client()
        assert client.post("/login/", data={"username": user, "password": PASSWORDS[user]}).status_code == 302
        for path in pages:
            response = client.get(path, follow_redirects=True)
            body = response.get_data(as_text=True)
            assert response.status_code == 200, (user, path)
            assert "设计审查" not in body and "方案答复" not in body, (user, path)
            if path.startswith("/application/"):
                assert "外线工程" in body, path
            if path.startswith("/application/show/"):
                assert moved_number in body and "模型版本迁移" in body
    with served.app_context():
        served.extensions["yekuotong"].db.session.remove()
        served.extensions["yekuotong"].db.engine.dispose()


def test_4_rollback_is_the_county_text_again_with_the_reverse_mapping(county):
    from app.versions.apply import ApplyRefused, apply_model

    url, app = county
    served = make_app(url)
    with served.app_context():
        with pytest.raises(ApplyRefused) as refused:  # the national-only stages hold cases
            apply_model(COUNTY, source="model.yaml", comment="回到县细则", user="admin", force=True)
        assert refused.value.kind == "stranded"
        words = "\n".join(refused.value.lines(_zh(served)))
        at_works = [n for (n,) in sql(url, "SELECT number FROM application WHERE stage = 'line_works'")]
        assert "删除环节：外线工程" in words and all(n in words for n in at_works), words
        with pytest.raises(ApplyRefused) as refused:  # mapped, but needs_line_works would be lost
            apply_model(COUNTY + REVERSE, source="model.yaml", comment="回到县细则", user="admin")
        assert refused.value.kind == "losses"
        assert any("needs_line_works" in line for line in refused.value.lines())
        result = apply_model(COUNTY + REVERSE, source="model.yaml", comment="回到县细则", user="admin",
                             force=True)
        served.extensions["yekuotong"].db.session.remove()
        served.extensions["yekuotong"].db.engine.dispose()
    assert result.number == 3 and result.previous == 2
    stages = {s for (s,) in sql(url, "SELECT stage FROM application")}
    assert not stages & {"line_works", "filing"}
    assert sql(url, "SELECT count(*) FROM workflow_history WHERE kind = 'migration' AND to_stage = 'construction'")[0][0] \
        == len(at_works)
    # What the national apply dropped does not come back: the county fields return empty.
    assert sql(url, "SELECT count(*) FROM application WHERE survey_date IS NOT NULL")[0][0] == 0
    assert sql(url, "SELECT comment FROM model_revision WHERE number = 3") == [("回到县细则",)]


def _zh(app):
    from app.i18n import model_gettext

    return model_gettext("zh", app.config["BABEL_TRANSLATION_DIRECTORIES"])
