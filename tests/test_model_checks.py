"""The model checker: every error code, at the right line and column, and never a traceback.

Each file in tests/fixtures/bad/ is a small model with one mistake (its first line says which).
The expected (code, line, column) triples below are written by hand from reading the files; they
are deliberately not computed from the files. A column of None means only the line is asserted.

The last section holds regression tests for checker bugs found while writing this file.
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from app.model.loader import load_file, load_text
from app.model.problems import ModelError

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "fixtures" / "bad"
GOOD = ROOT / "tests" / "fixtures" / "good"
MINIMAL = (GOOD / "minimal.yaml").read_text(encoding="utf-8")
LINE_RE = re.compile(r"^tests/fixtures/bad/.+\.yaml:\d+:\d+: error M\d{3}: ")

# file name -> every problem expected, as (code, line, column), sorted like ModelError.problems.
CASES: dict[str, list[tuple[str, int, int | None]]] = {
    # loader: reading, YAML, shape
    "M000_not_utf8.yaml": [("M000", 1, 1)],
    "M001_yaml_syntax.yaml": [("M001", 12, 17)],                 # the second ':' on the line
    "M002_duplicate_key.yaml": [("M002", 6, 3)],                 # the second 'admin'
    "M003_not_mapping.yaml": [("M003", 1, 1)],
    "M004_key_not_text.yaml": [("M004", 6, 3)],
    "M005_python_tag.yaml": [("M005", 2, 10)],                   # at the tag
    "M006_alias.yaml": [("M006", 3, 6)],                         # the anchored value (PyYAML keeps no alias position)
    "M118_places_above_digits.yaml": [("M118", 30, 78)],
    "M010_unknown_key.yaml": [("M010", 10, 5), ("M011", 10, 5)],  # typo'd key; so label_zh is missing
    "M011_missing_key.yaml": [("M011", 10, 5)],                  # the unit mapping lacking 'menu'
    "M012_invalid_value.yaml": [("M012", 14, 20)],               # 'strng'
    "M013_bad_key_name.yaml": [("M013", 6, 3)],                  # 'Clerk'
    "M013_bad_choice_value.yaml": [("M013", 16, 76)],            # 'Big'
    # entities and fields
    "M101_unknown_reference.yaml": [("M101", 16, 37)],
    # The role name is the mistake, but the column is that of the actions list (fixed: the key is reported).
    "M102_permission_unknown_role.yaml": [("M102", 17, None)],
    "M103_unknown_menu.yaml": [("M103", 12, 11)],
    "M104_choice_without_choices.yaml": [("M104", 16, 13)],
    "M104_choices_on_string.yaml": [("M104", 16, 67)],
    "M105_default_not_a_choice.yaml": [("M105", 16, 67)],
    "M106_duplicate_choice.yaml": [("M106", 22, 13)],            # the second choice
    "M107_reference_without_to.yaml": [("M107", 16, 15)],
    "M107_to_on_string.yaml": [("M107", 16, 34)],
    "M108_unknown_title_field.yaml": [("M108", 13, 12)],
    "M109_reserved_entity.yaml": [("M109", 16, 3)],              # at the key
    "M109_reserved_field.yaml": [("M109", 16, 7)],               # at the key
    "M110_missing_unit_entity.yaml": [("M110", 9, 3)],           # the entities mapping
    "M110_unit_without_name.yaml": [("M110", 14, 7)],            # the unit's fields mapping
    "M111_default_wrong_type.yaml": [("M111", 16, 68)],
    "M112_max_length_on_integer.yaml": [("M112", 16, 71)],
    "M112_format_on_integer.yaml": [("M112", 16, 69)],
    "M112_unique_text.yaml": [("M112", 16, 64)],
    "M113_duplicate_unit_key.yaml": [("M113", 10, 11)],          # the second 'center'
    "M114_missing_admin_role.yaml": [("M114", 5, 3)],            # the roles mapping
    "M115_duplicate_action.yaml": [("M115", 17, 14)],
    "M116_actions_without_list.yaml": [("M116", 17, 14)],
    "M117_reference_cycle.yaml": [("M117", 16, 35), ("M117", 17, 91)],  # both ends of the cycle
    # input limits and what each role sees
    "M130_min_on_string.yaml": [("M130", 16, 63)],
    "M131_max_below_min.yaml": [("M131", 16, 75)],             # at max
    "M132_bound_does_not_fit.yaml": [("M132", 16, 86)],        # 0.001 with places: 2
    "M133_default_outside_limits.yaml": [("M133", 16, 86)],
    "M134_scope_without_owner.yaml": [("M134", 6, 50)],
    "M135_admin_scoped.yaml": [("M135", 5, 50)],
    "M136_private_title.yaml": [("M136", 20, 12)],
    "M510_unknown_display_field.yaml": [("M510", 21, 30)],
    "M511_display_field_type.yaml": [("M511", 21, 30)],
    # workflow
    "M201_unknown_workflow_entity.yaml": [("M201", 18, 11)],
    "M201_unknown_documents_entity.yaml": [("M201", 21, 13)],
    "M202_unknown_source.yaml": [("M202", 24, 73)],              # second item of the source list
    # a wrong dest also leaves 'draft' without a way out and 'done' unreachable
    "M202_unknown_dest.yaml": [("M206", 21, 5), ("M205", 22, 5), ("M202", 24, 78)],
    "M202_unknown_cancellation_stage.yaml": [("M202", 27, 12)],
    "M202_unknown_timer_stage.yaml": [("M202", 29, 20)],
    "M202_unknown_pause_stage.yaml": [("M202", 32, 16)],
    "M202_unknown_fine_stage.yaml": [("M202", 36, 12)],
    "M202_unknown_suspension_stage.yaml": [("M202", 34, 78)],
    "M202_unknown_form_stage.yaml": [("M202", 26, 55)],
    "M203_unknown_stage_role.yaml": [("M203", 21, 67)],
    "M203_unknown_transition_role.yaml": [("M203", 24, 99)],
    "M203_unknown_suspension_role.yaml": [("M203", 26, 13)],
    "M203_unknown_fine_role.yaml": [("M203", 38, 20)],
    "M203_unknown_form_role.yaml": [("M203", 26, 70)],
    "M204_unknown_owner_field.yaml": [("M204", 20, 16)],
    "M204_unknown_stage_field.yaml": [("M204", 21, 68)],
    "M204_unknown_transition_fields.yaml": [("M204", 30, 24), ("M204", 31, 18)],  # fields, required
    "M204_unknown_documents_field.yaml": [("M204", 22, 5)],      # kind_field is a default: the block
    "M204_unknown_timer_reason_field.yaml": [("M204", 32, 19)],
    "M204_unknown_form_field.yaml": [("M204", 26, 87)],
    "M205_unreachable_stage.yaml": [("M205", 22, 5)],
    # a cancellation stage without terminal: true is also unreachable and a dead end
    "M206_cancellation_not_terminal.yaml": [("M205", 23, 5), ("M206", 23, 5), ("M206", 28, 12)],
    "M206_dead_end_stage.yaml": [("M206", 22, 5)],
    "M206_terminal_with_exit.yaml": [("M206", 22, 5)],
    "M207_condition_syntax.yaml": [("M207", 24, 113)],
    "M207_limit_when_syntax.yaml": [("M207", 32, 16)],
    "M207_fine_when_syntax.yaml": [("M207", 37, 34)],
    "M208_condition_unknown_field.yaml": [("M208", 24, 113)],
    "M208_fine_when_unknown_timer.yaml": [("M208", 37, 34)],
    "M209_no_initial_stage.yaml": [("M209", 21, 5)],
    "M209_two_initial_stages.yaml": [("M209", 21, 5)],
    # The customer type is the mistake, but the column is that of its list (fixed: the key is reported).
    "M211_unknown_customer_type.yaml": [("M211", 31, None)],
    "M211_unknown_document_kind.yaml": [("M211", 31, 30)],
    "M212_duplicate_reason.yaml": [("M212", 29, 15)],
    "M213_owner_not_user.yaml": [("M213", 36, 16)],            # owner_field names a boolean
    "M214_duplicate_trigger.yaml": [("M214", 42, 17)],
    "M215_reserved_trigger.yaml": [("M215", 41, 17)],
    "M216_protected_field.yaml": [("M216", 41, 110), ("M204", 41, 111)],
    # timers, fines, forms
    "M301_timers_without_workflow.yaml": [("M301", 2, 1)],       # no workflow line: the document
    "M302_event_two_kinds.yaml": [("M302", 29, 12)],
    "M303_unknown_transition_event.yaml": [("M303", 30, 24)],
    "M304_limit_last_has_when.yaml": [("M304", 32, 7)],
    "M401_duplicate_fine_id.yaml": [("M401", 40, 9)],            # the second rule's id
    "M402_trigger_without_kind.yaml": [("M402", 37, 14)],
    "M403_unknown_timer.yaml": [("M403", 37, 22)],
    "M404_unknown_suspension_reason.yaml": [("M404", 34, 34)],
    "M405_unknown_incident.yaml": [("M405", 32, 25)],
    "M406_target_two_kinds.yaml": [("M406", 40, 13)],
    "M406_responsible_on_timer_rule.yaml": [("M406", 38, 13)],
    "M407_unknown_unit.yaml": [("M407", 40, 20)],
    "M408_amount_range_reversed.yaml": [("M408", 39, 13)],
    # fine rules as the regulation words them (stage ranges, judged breaches, per-case units)
    "M420_stage_range_two_lower_bounds.yaml": [("M420", 49, 126)],  # the range mapping
    "M421_stage_range_empty.yaml": [("M421", 49, 92)],
    "M422_at_stage_on_suspension_rule.yaml": [("M422", 49, 118)],
    "M422_when_on_incident_rule.yaml": [("M422", 49, 91)],
    "M424_unknown_excluded_rule.yaml": [("M424", 49, 128)],
    "M425_rule_excludes_itself.yaml": [("M425", 49, 128)],
    "M426_unit_target_without_source.yaml": [("M426", 49, 97)],
    "M427_target_field_not_a_user.yaml": [("M427", 49, 111)],
    "M428_sanction_on_unit_rule.yaml": [("M428", 49, 129)],
    "M429_incident_rule_fines_a_unit.yaml": [("M429", 49, 94)],
    "M202_unknown_stage_in_range.yaml": [("M202", 49, 115)],
    "M202_unknown_by_stage_stage.yaml": [("M202", 49, 109)],       # at the key
    "M407_unknown_among_unit.yaml": [("M407", 49, 119)],
    "M303_unknown_judged_at_transition.yaml": [("M303", 49, 105)],
    "M430_unsigned_step_without_signoffs.yaml": [("M430", 49, 127)],  # at 'submit'
    # migrate: where the cases of the replaced version go
    "M501_migrate_unknown_stage.yaml": [("M501", 63, 15)],     # at the target stage
    "M502_migrate_not_a_choice.yaml": [("M502", 63, 5)],       # at the key 'job.urgent'
    "M503_migrate_unknown_value.yaml": [("M503", 63, 23)],     # 'big'
    "M504_migrate_stage_still_present.yaml": [("M504", 62, 12)],  # the key 'review'
    # the public progress lookup (办事公开)
    "M260_public_words_half_given.yaml": [("M260", 38, 62)],    # at the key given alone
    "M261_unit_phone_not_a_phone.yaml": [("M261", 10, 70)],
    "M262_unknown_lookup_field.yaml": [("M262", 37, 18)],
    "M263_lookup_phone_not_a_phone.yaml": [("M263", 39, 18)],
    "M264_public_field_personal.yaml": [("M264", 40, 20)],     # 'note', not 'kind'
    "M265_contact_unit_without_phone.yaml": [("M265", 40, 19)],
    # the closed case record: accepting clerk, editable fields, corrections, sub-records
    "M270_accepted_by_unknown.yaml": [("M270", 45, 22)],
    "M271_accepted_by_not_user.yaml": [("M271", 45, 22)],
    "M272_editable_unknown_field.yaml": [("M272", 46, 86)],
    "M273_editable_field_read_by_rules.yaml": [("M273", 46, 86)],   # 'kind' is read by a guard
    "M274_editable_in_terminal_stage.yaml": [("M274", 48, 69)],
    "M275_correction_trigger_taken.yaml": [("M275", 50, 17)],
    "M276_correction_unknown_role.yaml": [("M276", 50, 71)],
    "M277_correction_unknown_field.yaml": [("M277", 50, 88)],
    "M278_records_unknown_entity.yaml": [("M278", 50, 5)],
    "M279_records_without_reference.yaml": [("M279", 50, 5)],
    "M280_records_unknown_stage.yaml": [("M280", 50, 27)],
    "M290_condition_message_half_given.yaml": [("M290", 59, 46)],  # message_zh without message_en
    # steps as the regulation words them: joint sign-offs, conditional required fields, documents
    "M230_signoff_unit_and_role.yaml": [("M230", 41, 113)],    # the entry naming both
    "M231_signoff_unknown_unit.yaml": [("M231", 41, 120)],
    "M203_unknown_signoff_role.yaml": [("M203", 41, 120)],
    "M232_signoff_twice.yaml": [("M232", 41, 144)],            # the second 'center'
    "M235_required_when_also_required.yaml": [("M235", 41, 152)],  # at the key in required_when
    "M204_unknown_required_when_field.yaml": [("M204", 41, 118)],
    "M208_required_when_unknown_field.yaml": [("M208", 41, 124)],
    "M240_documents_never_checked.yaml": [("M240", 48, 32)],   # the stage no step checks
    "M241_document_required_twice.yaml": [("M241", 49, 9)],    # the repeated entry
    "M211_unknown_required_document_kind.yaml": [("M211", 48, 16)],
    "M202_unknown_document_stage.yaml": [("M202", 48, 32)],
    "M208_document_when_reads_a_collection.yaml": [("M208", 47, 31)],
    # timers with a due date from the data
    "M330_timer_limit_and_due_date.yaml": [("M330", 52, 3)],   # at the timer's key
    "M331_due_date_not_a_date.yaml": [("M331", 56, 23)],
    "M204_unknown_due_date_field.yaml": [("M204", 56, 23)],
    "M332_due_date_unknown_collection.yaml": [("M332", 64, 28)],
    "M333_due_date_when_without_collection.yaml": [("M333", 65, 31)],
    "M334_due_date_with_unit.yaml": [("M334", 64, 5)],
    "M208_due_date_when_unknown_field.yaml": [("M208", 64, 55)],
}


def problems_of(exc: ModelError) -> list[tuple[str, int, int]]:
    return [(p.code, p.line, p.col) for p in exc.problems]


def load_bad(text: str, filename: str = "bad.yaml") -> ModelError:
    with pytest.raises(ModelError) as info:
        load_text(text, filename)
    return info.value


def edit(old: str, new: str, text: str = MINIMAL) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


# ------------------------------------------------------------------ every code, one file each

@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_fixture(name):
    path = BAD / name
    assert path.read_bytes().startswith(b"# "), "each bad file starts with a comment saying what is wrong"
    with pytest.raises(ModelError) as info:  # any other exception fails the test
        load_file(path)
    exc = info.value
    assert exc.problems == sorted(exc.problems)
    expected, got = CASES[name], problems_of(exc)
    assert len(got) == len(expected), got
    assert [(code, line, col if want is not None else None)
            for (code, line, col), (_, _, want) in zip(got, expected)] == expected, got
    assert name.split("_")[0] in {code for code, _, _ in expected}
    for line in exc.lines():
        assert line.startswith(f"{path}:"), line
        assert re.search(r":\d+:\d+: error M\d{3}: ", line), line


def test_every_fixture_is_in_the_table():
    assert sorted(p.name for p in BAD.glob("*.yaml")) == sorted(CASES)


def test_every_error_code_has_a_fixture():
    emitted = set()
    for module in ("loader", "checks", "checker", "checks_workflow", "checks_rules", "checks_public",
                   "checks_limits", "checks_scope", "checks_records", "checks_steps", "checks_migrate"):
        source = (ROOT / "app" / "model" / f"{module}.py").read_text(encoding="utf-8")
        emitted |= set(re.findall(r'"(M\d{3})"', source))
    covered = {code for expected in CASES.values() for code, _, _ in expected}
    assert emitted, "no codes found in the checker sources"
    assert emitted <= covered, sorted(emitted - covered)


def test_every_problem_renders_in_chinese():
    """The CLI translates messages: no translated template may lose or rename a placeholder."""
    from app.i18n import model_gettext

    gettext = model_gettext("zh", str(ROOT / "translations"))
    for name in CASES:
        with pytest.raises(ModelError) as info:
            load_file(BAD / name)
        for line in info.value.lines(gettext):
            assert re.search(r":\d+:\d+: error M\d{3}: \S", line), line


# ------------------------------------------------------------------ the good models

def test_shipped_model_loads_clean():
    loaded = load_file(ROOT / "model.yaml")
    assert "unit" in loaded.model.entities and loaded.model.workflow is not None
    assert len(loaded.digest) == 16


def test_minimal_model_loads_clean():
    loaded = load_file(GOOD / "minimal.yaml")
    model = loaded.model
    assert set(model.entities) == {"unit", "job"} and "admin" in model.roles
    assert [k for k, s in model.workflow.stages.items() if s.initial] == ["draft"]
    assert [k for k, s in model.workflow.stages.items() if s.terminal] == ["done"]
    assert list(model.timers) == ["review"] and len(model.fines) == 1 and list(model.forms) == ["job_form"]


# ------------------------------------------------------------------ specific behaviour

def test_three_unrelated_mistakes_are_all_reported_sorted_by_line():
    text = edit("    menu: basics\n    fields:\n      code:", "    menu: basic\n    fields:\n      code:")  # line 15
    text = edit("initial: true, roles: [clerk]}", "initial: true, roles: [clerks]}", text)          # line 37
    text = edit("  job_form: {", "  JobForm: {", text)                                               # line 60
    exc = load_bad(text)
    # JobForm is found first (names are checked before shape), yet comes last: sorted by line.
    assert [(p.code, p.line) for p in exc.problems] == [("M103", 15), ("M203", 37), ("M013", 60)]
    assert [p.col for p in exc.problems] == [11, 67, 3]


def test_python_tag_is_an_error_and_runs_nothing(tmp_path):
    pwned = Path("/tmp/pwned")
    pwned.unlink(missing_ok=True)
    text = edit('version: "1"', 'version: !!python/object/apply:os.system ["echo hacked > /tmp/pwned"]')
    bad = tmp_path / "model.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ModelError):
        load_text(text)
    with pytest.raises(ModelError):
        load_file(bad)
    assert not pwned.exists()


def test_python_tag_on_a_sequence_is_M005():
    text = edit('version: "1"', 'version: !!python/object/apply:os.system ["echo hacked > /tmp/pwned"]')
    assert ("M005", 2, 10) in problems_of(load_bad(text))


def test_python_tag_on_a_scalar_is_M005():
    text = edit('version: "1"', "version: !!python/name:os.system ''")
    assert problems_of(load_bad(text)) == [("M005", 2, 10)]


def test_duplicate_key_is_M002_at_the_second_key():
    text = edit("    label_en: Unit\n", "    label_en: Unit\n    label_en: Unit again\n")  # lines 14, 15
    exc = load_bad(text)
    assert problems_of(exc) == [("M002", 15, 5)]
    assert dict(exc.problems[0].params)["key"] == "label_en"


def test_unknown_key_is_M010_at_the_key():
    exc = load_bad(edit("    label_zh: 单位\n", "    lable_zh: 单位\n"))  # line 13
    m010 = [p for p in exc.problems if p.code == "M010"]
    assert [(p.line, p.col) for p in m010] == [(13, 5)]
    assert dict(m010[0].params)["key"] == "lable_zh"
    assert "lable_zh" in m010[0].format("model.yaml")


def test_missing_required_key_is_M011():
    exc = load_bad(edit("    menu: basics\n    fields:\n      code:", "    fields:\n      code:"))
    assert problems_of(exc) == [("M011", 13, 5)]  # the unit mapping, starting on line 13
    assert dict(exc.problems[0].params)["key"] == "menu"


def test_condition_syntax_error_is_M207_at_the_condition():
    exc = load_bad(edit('        - "urgent is true or kind == small"', '        - "urgent = true"'))
    assert problems_of(exc) == [("M207", 49, 11)]
    assert "urgent = true" in exc.problems[0].format("model.yaml")


def test_condition_unknown_field_is_M208_at_the_condition():
    exc = load_bad(edit('        - "urgent is true or kind == small"', '        - "urgnt is true"'))
    assert problems_of(exc) == [("M208", 49, 11)]
    assert "urgnt" in exc.problems[0].format("model.yaml")


def test_not_utf8_file_is_M000(tmp_path):
    path = tmp_path / "model.yaml"
    path.write_bytes(MINIMAL.encode("gbk"))
    with pytest.raises(ModelError) as info:
        load_file(path)
    assert problems_of(info.value) == [("M000", 1, 1)]
    assert info.value.filename == str(path)


def test_missing_file_is_M000(tmp_path):
    with pytest.raises(ModelError) as info:
        load_file(tmp_path / "no-such-model.yaml")
    assert problems_of(info.value) == [("M000", 1, 1)]
    assert info.value.lines()[0].startswith(f"{tmp_path / 'no-such-model.yaml'}:1:1: error M000: ")


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n"])
def test_empty_file_reports_the_missing_keys(tmp_path, text):
    path = tmp_path / "model.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ModelError) as info:
        load_file(path)
    problems = info.value.problems
    assert {p.code for p in problems} == {"M011"}
    assert {dict(p.params)["key"] for p in problems} == {"version", "app", "roles", "menus", "entities"}


# ------------------------------------------------------------------ checker bugs found and fixed (regression tests)

CRASHES = {
    # loader._key_problems iterates data["entities"] before checking it is a mapping: TypeError
    "entities_not_a_mapping": 'version: "1"\nentities: 5\n',
    # scalars that match a YAML type but cannot be built raise ValueError, which is not caught
    "impossible_date": "version: 2024-02-30\n",
    "bad_int_tag": "version: !!int abc\n",
    "bad_float_tag": "version: !!float abc\n",
    # an alias inside its own anchor makes _construct recurse forever: RecursionError
    "recursive_alias": "version: &x [*x]\n",
}


@pytest.mark.parametrize("name", sorted(CRASHES))
def test_malformed_input_raises_model_error_not_a_traceback(name):
    try:
        load_text(CRASHES[name])
    except ModelError as exc:
        assert exc.problems
    else:
        pytest.fail("loaded")


def test_unknown_key_inside_a_union_points_at_the_key():
    exc = load_bad(edit("    limit: 2\n",
                        '    limit:\n      - {wen: "urgent is true", days: 1}\n      - {days: 2}\n'))
    assert problems_of(exc) == [("M010", 57, 10)]  # 'wen'; now (56, 5) plus a spurious M012


def test_unknown_permission_role_points_at_the_role():
    exc = load_bad(edit("      clerk: [list, show, add]\n", "      clerks:\n        - list\n"))  # line 32
    assert problems_of(exc) == [("M102", 32, 7)]  # now (33, 9): the line after the mistake


def test_unknown_customer_type_points_at_the_key():
    text = (BAD / "M211_unknown_customer_type.yaml").read_text(encoding="utf-8")
    exc = load_bad(edit("      residental: [id_card]\n", "      residental:\n        - id_card\n", text))
    assert problems_of(exc) == [("M211", 31, 7)]  # now (32, 9): the line after the mistake


def test_number_prefix_hint_asks_for_upper_case():
    exc = load_bad(edit("  number_prefix: JOB\n", "  number_prefix: job\n"))
    assert problems_of(exc) == [("M013", 35, 18)]
    assert "lower-case" not in exc.problems[0].format("model.yaml")


MISSING_CHECKS = {
    "set_unknown_field": ("roles: [clerk]}\n    - trigger",
                          "roles: [clerk], set: {no_such_field: 1}}\n    - trigger"),
    "negative_timer_limit": ("    limit: 2\n", "    limit: -5\n"),
    "negative_fine_amount": ("amount: 50}", "amount: -50}"),
    "places_above_digits": ("      urgent: {type: boolean",
                            "      cost: {type: decimal, digits: 2, places: 5, label_zh: 费用, label_en: Cost}\n"
                            "      urgent: {type: boolean"),
}


@pytest.mark.parametrize("name", sorted(MISSING_CHECKS) + ["duplicate_incident_key"])
def test_missing_checks(name):
    if name == "duplicate_incident_key":
        text = MINIMAL + ("incidents:\n  - {key: rude, label_zh: 态度, label_en: Rude}\n"
                          "  - {key: rude, label_zh: 态度差, label_en: Very rude}\n")
    else:
        text = edit(*MISSING_CHECKS[name])
    assert load_bad(text).problems


# ------------------------------------------------------------------ the command line (3 subprocesses)

def flask_check(path: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, YKT_DEMO="1")
    env.pop("MODEL_PATH", None)
    return subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "app", "model", "check", path],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_cli_check_bad_model():
    result = flask_check("tests/fixtures/bad/M206_cancellation_not_terminal.yaml")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3, result.stdout
    for line in lines:
        assert LINE_RE.match(line), line
    assert [line.split(": error ")[0].split(":", 1)[1] for line in lines] == ["23:5", "23:5", "28:12"]
    assert [re.search(r"error (M\d{3})", line).group(1) for line in lines] == ["M205", "M206", "M206"]
    assert re.search(r"\b3\b", result.stderr), result.stderr  # the count of problems


def test_cli_check_unreadable_model():
    result = flask_check("tests/fixtures/bad/M000_not_utf8.yaml")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and LINE_RE.match(lines[0]) and " error M000: " in lines[0], result.stdout


def test_cli_check_good_model():
    result = flask_check("tests/fixtures/good/minimal.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and "OK" in lines[0], result.stdout
    assert lines[0].startswith("tests/fixtures/good/minimal.yaml")
