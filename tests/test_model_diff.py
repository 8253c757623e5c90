"""The plain-words model diff (app/model/diff.py): each kind of change, printed in Chinese and in English.

Every case edits one small model and compares the printed lines, written by hand, with what an
administrator reads in `flask model diff` and in the browser editor.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from app.i18n import model_gettext
from app.model.diff import diff, render
from app.model.loader import load_text

ROOT = Path(__file__).resolve().parent.parent
ZH = model_gettext("zh", str(ROOT / "translations"))
EN = model_gettext("en", str(ROOT / "translations"))

BASE = """\
version: "1"
app: {name_zh: 测试, name_en: Test}
roles:
  admin: {label_zh: 管理员, label_en: Admin}
  clerk: {label_zh: 业扩员, label_en: Clerk}
  auditor: {label_zh: 营销审核, label_en: Auditor}
menus:
  basics: {label_zh: 基础数据, label_en: Basics}
units:
  - {key: center, name_zh: 客户服务中心, name_en: Service Center, kind: center}
entities:
  unit:
    label_zh: 单位
    label_en: Unit
    menu: basics
    fields:
      code: {type: string, label_zh: 代码, label_en: Code}
      name: {type: string, label_zh: 名称, label_en: Name}
  job:
    label_zh: 工单
    label_en: Job
    menu: basics
    fields:
      kind:
        type: choice
        label_zh: 客户类别
        label_en: Customer type
        choices:
          - {value: residential, label_zh: 居民, label_en: Residential}
          - {value: business, label_zh: 非居民, label_en: Business}
      urgent: {type: boolean, label_zh: 加急, label_en: Urgent}
      note: {type: string, label_zh: 备注, label_en: Note, max_length: 100}
    permissions:
      clerk: [list, show, add]
workflow:
  entity: job
  number_prefix: JOB
  stages:
    draft: {label_zh: 草稿, label_en: Draft, initial: true, roles: [clerk]}
    review: {label_zh: 方案答复, label_en: Plan reply, roles: [auditor]}
    check: {label_zh: 复核, label_en: Check, roles: [admin]}
    done: {label_zh: 完成, label_en: Done, terminal: true}
  transitions:
    - {trigger: submit, label_zh: 提交, label_en: Submit, source: draft, dest: review, roles: [clerk]}
    - {trigger: approve, label_zh: 通过, label_en: Approve, source: review, dest: check, roles: [auditor]}
    - {trigger: finish, label_zh: 办结, label_en: Finish, source: check, dest: done, roles: [admin]}
timers:
  reply:
    label_zh: 方案答复
    label_en: Plan reply
    start: {enter: review}
    stop: {leave: review}
    limit:
      - {when: "kind == residential", days: 3}
      - {days: 7}
fines:
  - {id: F1, label_zh: 答复超时, label_en: Reply late, stage: review, trigger: {timer: reply}, target: {role: auditor}, amount: 50}
"""

FINISH = "    - {trigger: finish, label_zh: 办结, label_en: Finish, source: check, dest: done, roles: [admin]}\n"
APPROVE = "    - {trigger: approve, label_zh: 通过, label_en: Approve, source: review, dest: check, roles: [auditor]}\n"
CHECK = "    check: {label_zh: 复核, label_en: Check, roles: [admin]}\n"
FEE = """  fee:
    label_zh: 收费
    label_en: Fee
    menu: basics
    fields:
      item: {type: string, label_zh: 项目, label_en: Item}
"""


def edit(*pairs: tuple[str, str], text: str = BASE) -> str:
    for old, new in pairs:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def model(text: str):
    return load_text(text).model


# name: (edits, kinds, Chinese lines, English lines)
CASES = {
    "limit": ((("days: 3}", "days: 2}"),), ["limit_changed"],
              ["方案答复（居民）：3 → 2 个工作日"], ["Plan reply (Residential): 3 → 2 working days"]),
    "limit_default_and_unit": ((("      - {days: 7}\n", "      - {days: 10}\n    unit: calendar_days\n"),),
                               ["limit_changed", "limit_changed"],
                               ["方案答复（居民）：3 个工作日 → 3 个自然日", "方案答复（其他）：7 个工作日 → 10 个自然日"],
                               ["Plan reply (Residential): 3 working days → 3 calendar days",
                                "Plan reply (otherwise): 7 working days → 10 calendar days"]),
    "stage_removed": (((APPROVE, APPROVE.replace("dest: check", "dest: done")), (CHECK, ""), (FINISH, "")),
                      ["stage_removed", "transition_removed", "transition_changed"],
                      ["删除环节：复核", "删除步骤：办结（复核 → 完成）", "步骤 通过（方案答复）的去向：复核 → 完成"],
                      ["Stage removed: Check", "Step removed: Finish (Check → Done)",
                       "Step Approve (Plan reply): goes to Check → Done"]),
    "stage_added": (((CHECK, CHECK + "    sign: {label_zh: 签约, label_en: Contract, roles: [admin]}\n"),
                     (FINISH, FINISH.replace("dest: done", "dest: sign")
                      + "    - {trigger: close, label_zh: 归档, label_en: Close, source: sign, dest: done, roles: [admin]}\n")),
                    ["stage_added", "transition_added", "transition_changed"],
                    ["新增环节：签约", "新增步骤：归档（签约 → 完成）", "步骤 办结（复核）的去向：完成 → 签约"],
                    ["Stage added: Contract", "Step added: Close (Contract → Done)",
                     "Step Finish (Check): goes to Done → Contract"]),
    "stage_roles": ((("review: {label_zh: 方案答复, label_en: Plan reply, roles: [auditor]}",
                      "review: {label_zh: 方案答复, label_en: Plan reply, roles: [admin]}"),),
                    ["stage_changed"], ["环节 方案答复 的办理角色：营销审核 → 管理员"],
                    ["Stage Plan reply: handled by Auditor → Admin"]),
    "step_roles_and_conditions": (((APPROVE, APPROVE.replace("roles: [auditor]", "roles: [auditor, admin]")),
                                   (FINISH, FINISH.replace("roles: [admin]", 'roles: [admin], conditions: ["urgent is true"]'))),
                                  ["transition_changed", "transition_changed"],
                                  ["步骤 通过（方案答复）的办理角色：营销审核 → 营销审核、管理员",
                                   "步骤 办结（复核）的条件：无 → urgent is true"],
                                  ["Step Approve (Plan reply): taken by Auditor → Auditor, Admin",
                                   "Step Finish (Check): conditions none → urgent is true"]),
    "entity_added": ((("  job:\n", FEE + "  job:\n"),), ["entity_added"], ["新增实体：收费"], ["Entity added: Fee"]),
    "fields": ((("      note: {type: string, label_zh: 备注, label_en: Note, max_length: 100}\n",
                 "      note: {type: string, label_zh: 备注, label_en: Note, max_length: 200, required: true}\n"
                 "      amount: {type: decimal, label_zh: 金额, label_en: Amount}\n"),),
               ["field_added", "field_changed", "field_changed"],
               ["新增字段：工单·金额（小数）", "字段 工单·备注：必填 否 → 是", "字段 工单·备注：最大长度 100 → 200"],
               ["Field added: Job · Amount (decimal number)", "Field Job · Note: required no → yes",
                "Field Job · Note: maximum length 100 → 200"]),
    "field_removed": ((("      note: {type: string, label_zh: 备注, label_en: Note, max_length: 100}\n", ""),),
                      ["field_removed"], ["删除字段：工单·备注（其数据将被删除）"],
                      ["Field removed: Job · Note (its data is dropped)"]),
    "choices": ((("          - {value: business, label_zh: 非居民, label_en: Business}\n",
                  "          - {value: shop, label_zh: 商铺, label_en: Shop}\n"),),
                ["choice_added", "choice_removed"],
                ["工单·客户类别 新增选项：商铺", "工单·客户类别 删除选项：非居民"],
                ["Choice added to Job · Customer type: Shop", "Choice removed from Job · Customer type: Business"]),
    "roles_and_permissions": ((("  auditor: {label_zh: 营销审核, label_en: Auditor}\n",
                                "  auditor: {label_zh: 营销审核, label_en: Auditor}\n"
                                "  metering: {label_zh: 计量装表, label_en: Metering}\n"),
                               ("      clerk: [list, show, add]", "      clerk: [list, show]")),
                              ["role_added", "permission_changed"],
                              ["新增角色：计量装表", "业扩员 对 工单 的权限：查看列表、查看详情、新增 → 查看列表、查看详情"],
                              ["Role added: Metering",
                               "Permissions of Clerk on Job: see the list, see a record, add records → see the list, "
                               "see a record"]),
    "timers": ((("    stop: {leave: review}\n", "    stop: {leave: check}\n"),
                ("fines:\n", "  check:\n    label_zh: 复核时限\n    label_en: Check\n    start: {enter: check}\n"
                             "    stop: {leave: check}\n    limit: 1\nfines:\n")),
               ["timer_added", "timer_changed"], ["新增时限：复核时限", "时限 方案答复：起止条件已变更"],
               ["Time limit added: Check", "Time limit Plan reply: when it runs or ends changed"]),
    "fine_amount_and_target": ((("target: {role: auditor}, amount: 50}",
                                 "target: {unit: center}, amount: {min: 0, max: 200}}"),),
                               ["fine_amount_changed", "fine_target_changed"],
                               ["考核条款 F1 答复超时：50 元 → 0–200 元（由审核人确定）",
                                "考核条款 F1 答复超时 的考核对象：营销审核 → 客户服务中心"],
                               ["Fine F1 Reply late: 50 yuan → 0–200 yuan, set by the auditor",
                                "Fine F1 Reply late: fined Auditor → Service Center"]),
    "fine_added_and_changed": ((("trigger: {timer: reply}, target", "trigger: {timer: reply, at_stage: review}, target"),
                                ("amount: 50}\n", "amount: 50}\n  - {id: F2, label_zh: 复核超时, label_en: Check late, "
                                 "stage: check, trigger: {timer: reply}, target: {role: admin}, amount: {min: 10}}\n")),
                               ["fine_added", "fine_changed"],
                               ["新增考核条款：F2 复核超时，不少于 10 元（由审核人确定）", "考核条款 F1 答复超时：适用条件已变更"],
                               ["Fine rule added: F2 Check late, at least 10 yuan, set by the auditor",
                                "Fine F1 Reply late: when it applies changed"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_kind_of_change_in_chinese_and_english(name):
    edits, kinds, zh, en = CASES[name]
    old, new = model(BASE), model(edit(*edits))
    changes = diff(old, new)
    assert sorted(c.kind for c in changes) == sorted(kinds)
    assert sorted(render(changes, ZH)) == sorted(zh)
    assert sorted(render(changes, EN)) == sorted(en)


def test_removals_are_the_reverse_of_additions():
    """Removing what an addition added names the same things, as removals."""
    cases = [("entity_added", "entity_removed", "删除实体：收费（其数据表和数据将被删除）"),
             ("roles_and_permissions", "role_removed", "删除角色：计量装表"),
             ("timers", "timer_removed", "删除时限：复核时限"),
             ("fine_added_and_changed", "fine_removed", "删除考核条款：F2 复核超时"),
             ("stage_added", "stage_removed", "删除环节：签约")]
    for name, kind, line in cases:
        changes = diff(model(edit(*CASES[name][0])), model(BASE))
        picked = [c for c in changes if c.kind == kind]
        assert len(picked) == 1, (name, [c.kind for c in changes])
        assert render(picked, ZH) == [line]


def test_same_model_has_no_changes():
    assert diff(model(BASE), model(BASE)) == []


def test_stranding_changes_are_marked_with_the_stages_they_touch():
    removed = diff(model(BASE), model(edit(*CASES["stage_removed"][0])))
    by_kind = {c.kind: c for c in removed}
    assert by_kind["stage_removed"].strands and by_kind["stage_removed"].stages == ("check",)
    assert not by_kind["transition_changed"].strands and by_kind["transition_changed"].stages == ("review",)
    choice = next(c for c in diff(model(BASE), model(edit(*CASES["choices"][0]))) if c.kind == "choice_removed")
    assert choice.strands and choice.subject == ("choice", "job", "kind", "business")
    # A step removed while its stage still has a way to an end strands nothing...
    safe = edit((APPROVE, APPROVE + APPROVE.replace("trigger: approve", "trigger: skip")
                 .replace("label_zh: 通过", "label_zh: 直接办结").replace("dest: check", "dest: done")))
    removed_step = [c for c in diff(model(safe), model(BASE)) if c.kind == "transition_removed"]
    assert len(removed_step) == 1 and not removed_step[0].strands
    # ...but the only way out of 复核 replaced by a step that stays there leaves its cases stuck.
    stuck = edit((FINISH, FINISH.replace("trigger: finish, label_zh: 办结", "trigger: remark, label_zh: 备注")
                  .replace("dest: done", "dest: check")), (APPROVE, APPROVE + APPROVE.replace(
                      "trigger: approve", "trigger: skip").replace("dest: check", "dest: done")))
    gone = next(c for c in diff(model(BASE), model(stuck)) if c.kind == "transition_removed")
    assert gone.strands and gone.stages == ("check",)


def test_counts_are_printed_after_each_change():
    changes = diff(model(BASE), model(edit(*CASES["stage_removed"][0])))
    counts = [12 if c.kind == "transition_changed" else 3 if c.kind == "stage_removed" else 0 for c in changes]
    zh = render(changes, ZH, counts)
    assert "步骤 通过（方案答复）的去向：复核 → 完成，涉及 12 件在途申请" in zh
    assert "删除环节：复核，3 件在途申请将无处可去，须在 migrate 中映射" in zh
    assert "删除步骤：办结（复核 → 完成）" in zh  # no cases: no count
    en = render(changes, EN, counts)
    assert "Step Approve (Plan reply): goes to Check → Done, 12 application(s) in flight" in en
    assert "Stage removed: Check, 3 application(s) in flight would be stranded: map them under migrate" in en


def test_the_shipped_model_example_from_the_issue():
    """The issue's own example: the residential plan reply limit from 3 to 2 working days."""
    text = (ROOT / "model.yaml").read_text(encoding="utf-8")
    old_line = '      - {when: "customer_type == residential", days: 3}'
    assert text.count(old_line) == 1
    changes = diff(model(text), model(text.replace(old_line, old_line.replace("days: 3", "days: 2"))))
    assert render(changes, ZH) == ["供电方案答复时限（居民）：3 → 2 个工作日"]
    assert render(changes, EN) == ["Supply plan reply (Residential): 3 → 2 working days"]
