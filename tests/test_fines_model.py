"""The fine-rule language read as the regulation words it: "after X" ranges of stages, checked against
the default model and against small workflows whose shapes make the naive readings wrong."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.model.fine_stages import expand, expand_range
from app.model.loader import load_file, load_text
from app.model.problems import ModelError
from app.model.schema import StageRange

ROOT = Path(__file__).resolve().parent.parent
MODEL = load_file(ROOT / "model.yaml").model
WF = MODEL.workflow
RULES = {rule.id: rule for rule in MODEL.fines}


def stages_of(rule_id: str) -> frozenset[str]:
    trigger = RULES[rule_id].trigger
    return expand(trigger.at_stage if trigger.timer else trigger.suspension_stage, WF)


def later_than(stage: str) -> set[str]:
    order = list(WF.stages)
    return {s for s in order[order.index(stage) + 1:] if s != WF.cancellation.stage}


def test_a8_covers_every_stage_after_the_survey():
    """现场勘测完成后: from 供电方案制定 to the end of the process, whatever stages the model adds."""
    a8 = stages_of("A8")
    assert {"plan_drafting", "plan_reply", "design", "intermediate_inspection", "completion_acceptance",
            "meter_installation"} <= a8
    assert not a8 & {"acceptance", "initial_review", "site_survey", WF.cancellation.stage}
    assert a8 == later_than("site_survey")  # the default process has no branch that skips ahead of it


def test_a11_covers_every_stage_after_the_reply():
    """供电方案答复后: 中间检查, 整改, 竣工验收 included (the old list stopped at construction)."""
    a11 = stages_of("A11")
    assert {"customer_authorisation", "intermediate_inspection", "inspection_rectification",
            "completion_acceptance", "acceptance_rectification", "meter_installation"} <= a11
    assert not a11 & {"site_survey", "plan_drafting", "plan_approval", "plan_reply"}


def test_plan_reply_fines_split_by_where_the_deadline_passed():
    """At 现场勘查 or 方案答复 the manager (A6); while the plan is drafted or approved, A9 (nobody tracks
    it) or A10 (a unit's delay) — never two of them for one breach."""
    a6, a9, a10 = stages_of("A6"), stages_of("A9"), stages_of("A10")
    assert a6 == {"site_survey", "plan_reply"}
    assert a9 == a10 and "plan_drafting" in a9 and "plan_approval" in a9
    assert not a6 & a9 and "site_survey" not in a9  # A9 only after the survey
    assert RULES["A9"].trigger.when == "plan_tracker is null" and RULES["A10"].trigger.when == "plan_tracker is not null"


def test_a7_waits_for_the_reply_and_excludes_the_plan_reply_fines():
    a7 = RULES["A7"]
    assert a7.trigger.timer == "survey" and a7.trigger.judged_at.leave == "plan_reply"
    assert set(a7.excludes) == {"A6", "A9", "A10"}


def test_a4_amount_has_no_invented_cap_and_rules_target_their_role():
    assert RULES["A4"].amount.max is None and RULES["A4"].sanction == "remove_from_post"
    assert all(RULES[f"A{i}"].target.role == "clerk" for i in (1, 2, 3, 4, 5, 11, 12))


SHAPES = """
version: "1"
app: {name_zh: 测试, name_en: Test}
roles:
  admin: {label_zh: 管理员, label_en: Admin}
menus:
  basics: {label_zh: 基础数据, label_en: Basics}
entities:
  unit: {label_zh: 单位, label_en: Unit, menu: basics, fields: {code: {type: string, label_zh: 代码, label_en: Code}, name: {type: string, label_zh: 名称, label_en: Name}}}
  job: {label_zh: 工单, label_en: Job, menu: basics, fields: {urgent: {type: boolean, label_zh: 加急, label_en: Urgent}}}
workflow:
  entity: job
  number_prefix: JOB
  stages:
    draft: {label_zh: 草稿, label_en: Draft, initial: true}
    review: {label_zh: 审核, label_en: Review}
    approve: {label_zh: 批准, label_en: Approve}
    express: {label_zh: 加急, label_en: Express}
    done: {label_zh: 完成, label_en: Done, terminal: true}
  transitions:
    - {trigger: submit, label_zh: 提交, label_en: Submit, source: draft, dest: review, roles: [admin]}
    - {trigger: pass, label_zh: 通过, label_en: Pass, source: review, dest: approve, roles: [admin]}
    - {trigger: reject, label_zh: 退回, label_en: Reject, source: approve, dest: review, roles: [admin]}
    - {trigger: finish, label_zh: 完成, label_en: Finish, source: approve, dest: done, roles: [admin]}
    - {trigger: rush, label_zh: 加急, label_en: Rush, source: draft, dest: express, roles: [admin]}
    - {trigger: rushed, label_zh: 完成, label_en: Done, source: express, dest: done, roles: [admin]}
"""


@pytest.fixture(scope="module")
def shapes():
    return load_text(SHAPES).model.workflow


@pytest.mark.parametrize("bounds,expected", [
    ({"after": "review"}, ["approve", "done"]),         # a loop back (reject) does not make review "after" approve
    ({"after": "approve"}, ["done"]),                   # express is declared later but never follows approve
    ({"from": "review"}, ["review", "approve", "done"]),
    ({"before": "done"}, ["draft", "review", "approve", "express"]),
    ({"after": "draft", "before": "done"}, ["review", "approve", "express"]),
    ({"from": "review", "until": "approve"}, ["review", "approve"]),
    ({"after": "done"}, []),
    ({"after": "nowhere"}, []),
])
def test_stage_ranges_follow_the_process_not_the_file_alone(shapes, bounds, expected):
    assert expand_range(StageRange(**bounds), shapes) == expected


def test_a_range_is_written_with_from_in_yaml():
    text = SHAPES + """timers:
  late: {label_zh: 超时, label_en: Late, start: {enter: draft}, stop: {leave: approve}, limit: 2}
fines:
  - {id: F1, label_zh: 超时, label_en: Late, stage: review, trigger: {timer: late, at_stage: {from: review, until: approve}}, target: {role: admin}, amount: 50}
"""
    rule = load_text(text).model.fines[0]
    assert expand(rule.trigger.at_stage, load_text(text).model.workflow) == {"review", "approve"}


def test_an_unknown_key_in_a_range_is_reported_at_the_key():
    text = SHAPES + """timers:
  late: {label_zh: 超时, label_en: Late, start: {enter: draft}, stop: {leave: approve}, limit: 2}
fines:
  - {id: F1, label_zh: 超时, label_en: Late, stage: review, trigger: {timer: late, at_stage: {afer: review}}, target: {role: admin}, amount: 50}
"""
    with pytest.raises(ModelError) as info:
        load_text(text)
    assert [p.code for p in info.value.problems] == ["M010"] and "afer" in info.value.lines()[0]
