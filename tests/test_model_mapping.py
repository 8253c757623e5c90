"""Stranded cases (app/versions/impact.py): a model that removes a stage holding applications, or a choice
value still stored, is refused naming the applications; with `migrate:` mapping them it is applied, the
cases move with a history row each (模型版本迁移) and the values are rewritten. SQLite and PostgreSQL."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from conftest import database_url, make_app
from test_migrate import sql

BASE = open("model.yaml", encoding="utf-8").read()


def _without_design_review(text: str) -> str:
    """The default model without 设计审查: the design goes straight to construction."""
    out = []
    for line in text.split("\n"):
        if line.startswith("    design_review:") or "trigger: pass_design_review" in line \
                or "trigger: fail_design_review" in line:
            continue
        if "trigger: complete_design," in line:
            assert "dest: design_review" in line
            line = line.replace("dest: design_review", "dest: construction")
        out.append(line)
    assert len(out) == len(text.split("\n")) - 3
    return "\n".join(out)


V380 = "          - {value: v380, label_zh: 380V, label_en: 380 V}\n"
NO_REVIEW = _without_design_review(BASE)
NO_REVIEW_MAPPED = NO_REVIEW + "migrate:\n  stages: {design_review: construction}\n"
NO_V380 = BASE.replace(V380, "", 1)
NO_V380_MAPPED = NO_V380 + 'migrate:\n  values: {"application.supply_voltage": {v380: v220}}\n'


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fresh(request, tmp_path_factory):
    """The default model applied as version 1, with the demo applications (two at 设计审查). One per backend
    and module (the demo data takes long): the tests that only read come first, then those that apply."""
    from app.demo import load_demo
    from app.versions.apply import apply_model

    assert BASE.count(V380) == 1
    url = database_url(request.param, tmp_path_factory, name="h8map")
    app = make_app(url)
    with app.app_context():
        apply_model(BASE, source="model.yaml", comment="首次应用", user="admin")
        load_demo()
    yield url, app
    with app.app_context():
        app.extensions["yekuotong"].db.session.remove()
        app.extensions["yekuotong"].db.engine.dispose()


def _at(url, stage):
    return [r[0] for r in sql(url, "SELECT number FROM application WHERE stage = :s ORDER BY number", s=stage)]


def test_counts_and_strandings_read_directly(fresh):
    """impact.counts and impact.stranded without an apply: what the diff prints beside each change."""
    from app.model.diff import diff
    from app.model.loader import load_text
    from app.versions import impact

    url, app = fresh
    old, new = load_text(BASE).model, load_text(NO_REVIEW_MAPPED).model
    with app.app_context():
        core = app.extensions["yekuotong"]
        session = core.db.session
        changes = diff(old, new)
        counts = dict(zip((c.kind for c in changes), impact.counts(session, core, changes)))
        assert counts["stage_removed"] == 2
        assert impact.stranded(session, core, old, new, changes, new.migrate) == []
        stuck = impact.stranded(session, core, old, new, changes, None)
        assert [s.count for s in stuck] == [2]
        # move_mapped inside a transaction that is then rolled back leaves nothing behind
        moved = impact.move_mapped(session, core, old, new, new.migrate)
        assert moved == 2
        session.rollback()
    assert len(_at(url, "design_review")) == 2


def test_flask_model_diff_prints_the_cases_each_change_touches(fresh, tmp_path):
    _url, app = fresh
    path = tmp_path / "model.yaml"
    path.write_text(NO_REVIEW, encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["model", "diff", str(path)])
    assert result.exit_code == 1, result.output  # it would strand two applications
    assert "对比当前生效的版本 1" in result.output
    assert "删除环节：设计审查，2 件在途申请将无处可去，须在 migrate 中映射" in result.output
    english = runner.invoke(args=["model", "diff", str(path), "--lang", "en"])
    assert "Stage removed: Design review, 2 application(s) in flight would be stranded" in english.output
    path.write_text(NO_REVIEW_MAPPED, encoding="utf-8")
    mapped = runner.invoke(args=["model", "diff", str(path)])
    assert mapped.exit_code == 0 and "删除环节：设计审查，涉及 2 件在途申请" in mapped.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE.replace("    limit: 3\n", "    limit: three\n", 1), encoding="utf-8")
    broken = runner.invoke(args=["model", "diff", str(bad)])
    line = BASE[:BASE.index("    limit: 3\n")].count("\n") + 1
    assert broken.exit_code == 1 and f"{bad}:{line}:" in broken.output


def test_a_removed_stage_holding_cases_is_refused_then_moved_by_the_mapping(fresh):
    from app.versions import store
    from app.versions.apply import ApplyRefused, apply_model

    url, app = fresh
    waiting = _at(url, "design_review")
    assert len(waiting) == 2
    before = sql(url, "SELECT id, lock_version FROM application WHERE stage = 'design_review' ORDER BY id")
    history = sql(url, "SELECT count(*) FROM workflow_history")[0][0]
    with app.app_context():
        with pytest.raises(ApplyRefused) as refused:
            apply_model(NO_REVIEW, source="model.yaml", comment="去掉设计审查", user="admin")
        assert refused.value.kind == "stranded"
        [stranding] = refused.value.strandings
        assert stranding.change.kind == "stage_removed" and list(stranding.numbers) == waiting
        text = " ".join(refused.value.lines(_zh()))
        assert "删除环节：设计审查" in text and all(number in text for number in waiting)
        # Nothing happened: same version, same stages, no history row.
        assert store.active(app.extensions["yekuotong"].db.session).number == 1
    assert _at(url, "design_review") == waiting
    assert sql(url, "SELECT count(*) FROM workflow_history")[0][0] == history

    with app.app_context():
        result = apply_model(NO_REVIEW_MAPPED, source="model.yaml", comment="去掉设计审查", user="admin")
    assert result.number == 2 and result.moved == 2
    assert _at(url, "design_review") == []
    moved = sql(url, "SELECT a.number, a.lock_version, h.kind, h.trigger, h.from_stage, h.to_stage, h.comment, "
                     "h.user_name "
                     "FROM application a JOIN workflow_history h ON h.application_id = a.id "
                     "WHERE h.kind = 'migration' ORDER BY a.number")
    assert [tuple(r[:1]) + tuple(r[2:7]) for r in moved] == [
        (n, "migration", "migrate", "design_review", "construction", "模型版本迁移") for n in waiting]
    assert all(r[7] for r in moved)  # who ran the apply (here the command-line account)
    assert [r[1] for r in moved] == [lock + 1 for _id, lock in before]  # a step open on the old page fails
    assert set(_at(url, "construction")) >= set(waiting)


def test_a_removed_choice_value_still_stored_is_refused_then_rewritten(fresh):
    from app.versions.apply import ApplyRefused, apply_model

    url, app = fresh
    number = sql(url, "SELECT number FROM application WHERE stage = 'plan_approval' ORDER BY id")[0][0]
    sql(url, "UPDATE application SET supply_voltage = 'v380' WHERE number = :n", n=number)
    with app.app_context():
        with pytest.raises(ApplyRefused) as refused:
            apply_model(NO_V380, source="model.yaml", comment="取消380V", user="admin")
        [stranding] = refused.value.strandings
        assert stranding.change.kind == "choice_removed" and stranding.numbers == (number,)
        assert "用电申请·供电电压 删除选项：380V" in " ".join(refused.value.lines(_zh()))
    assert sql(url, "SELECT supply_voltage FROM application WHERE number = :n", n=number) == [("v380",)]
    with app.app_context():
        apply_model(NO_V380_MAPPED, source="model.yaml", comment="取消380V", user="admin")
    assert sql(url, "SELECT supply_voltage FROM application WHERE number = :n", n=number) == [("v220",)]
    [(changes, comment)] = sql(url, "SELECT h.changes, h.comment FROM workflow_history h JOIN application a "
                                    "ON a.id = h.application_id WHERE a.number = :n AND h.kind = 'migration'",
                               n=number)
    assert json.loads(changes) == {"supply_voltage": ["v380", "v220"]} and comment == "模型版本迁移"


def _zh():
    from pathlib import Path

    from app.i18n import model_gettext

    return model_gettext("zh", str(Path(__file__).resolve().parent.parent / "translations"))
