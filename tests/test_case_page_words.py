"""The pure parts of the case page: conditions in words, their model messages, fields by stage,
the inspection record printable during the inspection. No database."""
from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.model import conditions as cond
from app.model.condition_words import describe
from app.model.loader import load_file, load_text
from app.model.problems import ModelError
from app.printing.layout import reached
from app.workflow.field_stages import field_groups, filled_at
from app.workflow.machine import Workflow

ROOT = Path(__file__).resolve().parent.parent
MODEL = load_file(ROOT / "model.yaml").model
WF = Workflow.from_model(MODEL)
# what the condition language looks like: calls, operators, keywords, lists, field keys
SYNTAX = re.compile(r"\w\(|==|!=|<=|>=|\bis (not )?(true|false|null)\b|\[|\w_\w")


def words(text: str, lang: str = "zh") -> str:
    return describe(cond.parse(text), MODEL, lang)


# ------------------------------------------------------------------ the generated fallback

def test_or_reads_as_or_and_choices_by_their_labels():
    zh = words("needs_engineering is true or customer_type != residential")
    assert zh == "需客户工程为“是” 或 客户类别不为“居民”"
    assert "且" not in zh and "；" not in zh
    en = words("needs_engineering is true or customer_type != residential", "en")
    assert en == "Needs customer works is Yes or Customer type is not “Residential”"


def test_collections_in_words_with_the_entity_label():
    zh = words("count(inspection_defect, inspection != completion and fixed is false) > 0")
    assert zh == "至少有一条检查缺陷（检查类别不为“竣工验收” 且 复检已整改为“否”）"
    assert words("all(inspection_defect, inspection == completion or fixed is true)") == \
        "每条检查缺陷都满足：检查类别为“竣工验收” 或 复检已整改为“是”"
    assert words("count(inspection_defect, fixed is false) == 0", "en") == \
        "there is no Inspection defect (Fixed at re-inspection is No)"


def test_empty_yes_no_lists_numbers_functions_and_grouping():
    assert words("account_no is not null") == "电费账户号已填写"
    assert words("temp_end_date is null") == "临时用电截止日期未填写"
    assert words("account_no is null", "en") == "Billing account no. is not filled in"
    assert words("business_type in [new, increase]") == "业务类型为“新装”或“增容”"
    assert words("stage == design") == "环节为“工程优化设计及预算”"
    assert words("capacity_kw > 10 and (needs_engineering is true or customer_type == residential)") == \
        "申请容量(kW)大于10 且 （需客户工程为“是” 或 客户类别为“居民”）"
    assert words("documents_complete()") == "所需资料已齐全"
    assert words("timer_overdue(plan_reply)") == "“供电方案答复时限”已超期"
    assert words("not timer_overdue(plan_reply)", "en") == "not (“Supply plan reply” is overdue)"


def test_every_condition_of_the_model_reads_without_condition_syntax():
    texts = [t for tr in MODEL.workflow.transitions for t in tr.condition_texts]
    texts += [t for tr in MODEL.workflow.transitions for t in tr.required_when.values()]
    assert texts
    for text in texts:
        for lang in ("zh", "en"):
            said = words(text, lang)
            assert not SYNTAX.search(said), (text, lang, said)
            if lang == "zh":
                assert not re.search(r"\b(and|or|not)\b", said), (text, said)


# ------------------------------------------------------------------ messages in the model

def test_every_condition_in_the_shipped_model_has_both_messages():
    guards = [g for t in MODEL.workflow.transitions for g in t.guards]
    assert len(guards) >= 10
    for g in guards:
        assert g.message_zh and re.search(r"[\u4e00-\u9fff]", g.message_zh), g
        assert g.message_en and not re.search(r"[\u4e00-\u9fff]", g.message_en), g


def test_a_failed_step_says_which_condition_failed_with_its_message():
    record = {"stage": "construction", "customer_type": "residential", "needs_engineering": True,
              "inspection_passed": False}
    functions = {"documents_complete": lambda: True, "signed_off": lambda trigger: set()}
    by = {spec.trigger: d for spec, d in WF.available("construction", False, {"customer_manager"}, record, {},
                                                       functions)}
    refused = by["request_acceptance"]
    assert refused.failed_guards == (0,)
    spec = refused.transition
    assert spec.messages[0] == ("中间检查尚未合格：请先申请中间检查",
                                "The intermediate inspection has not passed yet: request it first")
    assert by["request_inspection"].failed_guards == ()


def test_plain_text_conditions_stay_valid_and_carry_no_message():
    text = (ROOT / "tests" / "fixtures" / "bad" / "M290_condition_message_half_given.yaml").read_text("utf-8")
    good = text.replace("{if: \"urgent is true\", message_zh: 只有加急工单可直接完成}", "\"urgent is true\"")
    model = load_text(good, "plain.yaml").model
    spec = Workflow.from_model(model).transition("finish", "review")
    assert spec.conditions == ("kind == small", "urgent is true")
    assert spec.messages == ((None, None), (None, None))


@pytest.mark.parametrize("entry, code", [
    ('{if: "urgnt is true", message_zh: 甲, message_en: A}', "M208"),
    ('{if: "urgent is true", message_en: Only urgent jobs}', "M290"),
    ('{if: "urgent is true", mesage_zh: 甲, message_en: A}', "M010"),
])
def test_a_bad_condition_entry_is_reported_at_its_place(entry, code):
    text = (ROOT / "tests" / "fixtures" / "bad" / "M290_condition_message_half_given.yaml").read_text("utf-8")
    bad = text.replace("{if: \"urgent is true\", message_zh: 只有加急工单可直接完成}", entry)
    with pytest.raises(ModelError) as info:
        load_text(bad, "bad.yaml")
    assert [(p.code, p.line) for p in info.value.problems] == [(code, 59)]


# ------------------------------------------------------------------ fields by the stage that fills them

def test_fields_belong_to_the_stage_that_fills_them():
    stage_of = filled_at(MODEL.workflow)
    assert stage_of["survey_date"] == "site_survey"
    assert stage_of["owner"] == "initial_review"  # approve_review assigns the customer manager
    assert stage_of["address"] == "acceptance"  # editable at acceptance
    assert stage_of["inspection_passed"] == "intermediate_inspection"
    assert stage_of["account_no"] == "billing_account"
    assert "capacity_kw" not in stage_of  # entered on creation


def test_groups_follow_the_stage_order_and_creation_fields_come_first():
    columns = ["number", "stage", "capacity_kw", "account_no", "survey_date", "meter_no", "customer"]
    groups = field_groups(MODEL.workflow, columns)
    assert groups == [("acceptance", ["number", "stage", "capacity_kw", "customer"]),
                      ("site_survey", ["survey_date"]), ("meter_installation", ["meter_no"]),
                      ("billing_account", ["account_no"])]


# ------------------------------------------------------------------ the inspection record on site

def test_the_inspection_record_prints_during_the_inspection_and_after():
    form = MODEL.forms["inspection_record"]
    assert form.during_stage
    left = [SimpleNamespace(kind="transition", from_stage="intermediate_inspection")]
    assert reached(MODEL, form, "intermediate_inspection", [])
    assert reached(MODEL, form, "construction", left)
    assert not reached(MODEL, form, "construction", [])
    # other forms keep their rule: the survey record only once the survey is done
    assert not reached(MODEL, MODEL.forms["survey_record"], "site_survey", [])
