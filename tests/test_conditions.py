"""Tests for the safe condition language in app.model.conditions."""
from __future__ import annotations

import ast
import enum
import os
import subprocess
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.model import conditions as cm
from app.model.conditions import (
    And, Call, Compare, ConditionEvaluationError, ConditionSyntaxError, Count, FieldInfo, FieldRef, FunctionInfo,
    Not, Or, Predicate, Quantified, check, evaluate, explain, parse,
)

EXAMPLES = [
    "customer_type == residential",
    "needs_engineering is false",
    "meter_no is not null",
    "plan_reply_reason is null",
    "capacity_kw > 10 and business_type in [new, increase]",
    "not (customer_type == residential and needs_engineering is false)",
    "all(defects, fixed is true)",
    "any(defects, fixed is false)",
    "count(defects) == 0",
    "count(defects, fixed is false) > 0",
    "documents_complete()",
    "timer_overdue(plan_reply)",
    "timer_status(survey) == overdue",
    "capacity_kw <= 12.5 or capacity_kw >= -3",
    "address == '杭州市 西湖区' or address != \"城东\"",
    "signed_on < 2026-10-01",
    "business_type not in [a, b, 'c d']",
    "x == 1 or y == 2 and not z == 3",
    "(x == 1 or y == 2) and z == 3",
    "not not x == 1",
    'note == "say \\"hi\\" \\\\ ok"',
    "x in []",
    "居民类型 == 居民",
]


def cmp(name, op, right):
    return Compare(FieldRef(name), op, right)


# ---------------------------------------------------------------- parsing

@pytest.mark.parametrize("text", EXAMPLES)
def test_examples_parse_and_round_trip(text):
    cond = parse(text)
    canonical = str(cond)
    assert parse(canonical) == cond
    assert str(parse(canonical)) == canonical


@pytest.mark.parametrize("text, tree", [
    ("customer_type == residential", cmp("customer_type", "==", "residential")),
    ("needs_engineering is false", cmp("needs_engineering", "is", False)),
    ("meter_no is not null", cmp("meter_no", "is not", None)),
    ("capacity_kw > 10 and business_type in [new, increase]",
     And((cmp("capacity_kw", ">", 10), cmp("business_type", "in", ("new", "increase"))))),
    ("not (customer_type == residential and needs_engineering is false)",
     Not(And((cmp("customer_type", "==", "residential"), cmp("needs_engineering", "is", False))))),
    ("all(defects, fixed is true)", Quantified("all", "defects", cmp("fixed", "is", True))),
    ("any(defects, fixed is false)", Quantified("any", "defects", cmp("fixed", "is", False))),
    ("count(defects) == 0", Compare(Count("defects"), "==", 0)),
    ("count(defects, fixed is false) > 0", Compare(Count("defects", cmp("fixed", "is", False)), ">", 0)),
    ("documents_complete()", Predicate(Call("documents_complete"))),
    ("timer_overdue(plan_reply)", Predicate(Call("timer_overdue", "plan_reply"))),
    ("timer_status(survey) == overdue", Compare(Call("timer_status", "survey"), "==", "overdue")),
])
def test_example_trees(text, tree):
    assert parse(text) == tree


@pytest.mark.parametrize("text, value", [
    ("x == 42", 42),
    ("x == -7", -7),
    ("x == 12.5", Decimal("12.5")),
    ("x == 'c d'", "c d"),
    ('x == "居民 用户"', "居民 用户"),
    ("x == true", True),
    ("x == false", False),
    ("x == null", None),
    ("x == 2026-10-01", date(2026, 10, 1)),
    ("x in [a, 'b c', 3, 1.50, 2026-01-02, null]", ("a", "b c", 3, Decimal("1.50"), date(2026, 1, 2), None)),
    ("x == True", "True"),  # keywords are lowercase; anything else is a bare word
    ("x == 'it\\'s'", "it's"),
])
def test_literals(text, value):
    right = parse(text).right
    assert right == value and type(right) is type(value)


def test_decimal_stays_decimal_and_string_true_differs_from_boolean():
    assert isinstance(parse("x == 12.5").right, Decimal)
    assert parse("x == 'true'") != parse("x == true")
    assert str(parse("x == 'true'")) == 'x == "true"'


@pytest.mark.parametrize("text, canonical", [
    ("x=='a'", "x == a"),
    ("x == 'c d'", 'x == "c d"'),
    ("x == '2026'", 'x == "2026"'),
    ("a==1 or (b==1 and c==1)", "a == 1 or b == 1 and c == 1"),
    ("(a==1 or b==1) and c==1", "(a == 1 or b == 1) and c == 1"),
    ("a==1 and (b==1 and c==1)", "a == 1 and b == 1 and c == 1"),
    ("not (a==1)", "not a == 1"),
    ("not (a==1 or b==1)", "not (a == 1 or b == 1)"),
    ("x in [a,b]", "x in [a, b]"),
    ("count( d ,x==1 )>0", "count(d, x == 1) > 0"),
    ("f( a )", "f(a)"),
])
def test_canonical_text(text, canonical):
    assert str(parse(text)) == canonical


def test_precedence_not_over_and_over_or():
    a, b, c = cmp("a", "==", 1), cmp("b", "==", 1), cmp("c", "==", 1)
    assert parse("a == 1 or b == 1 and c == 1") == Or((a, And((b, c))))
    assert parse("a == 1 and b == 1 or c == 1") == Or((And((a, b)), c))
    assert parse("not a == 1 and b == 1") == And((Not(a), b))
    assert parse("not a == 1 or b == 1") == Or((Not(a), b))
    assert parse("not (a == 1 or b == 1)") == Not(Or((a, b)))
    assert parse("a == 1 or b == 1 or c == 1") == Or((a, b, c))


def test_inner_condition_precedence_and_scope():
    cond = parse("all(defects, fixed is true or waived is true)")
    assert cond.where == Or((cmp("fixed", "is", True), cmp("waived", "is", True)))


def test_fields_collections_functions():
    cond = parse("capacity_kw > 10 and (all(defects, fixed is true) or count(photos, ok == yes) > 1)"
                 " and count(tasks) == 0 and documents_complete() and timer_status(survey) == overdue"
                 " and not customer_type == residential")
    assert cond.fields() == {"capacity_kw", "customer_type"}
    assert cond.collections() == {"defects": {"fixed"}, "photos": {"ok"}, "tasks": set()}
    assert cond.functions() == {("documents_complete", None), ("timer_status", "survey")}


def test_tree_is_immutable_and_hashable():
    cond = parse("a == 1 and b in [x, y]")
    with pytest.raises(AttributeError):
        cond.items = ()
    assert hash(cond) == hash(parse("a==1 and b in [x,y]"))


def test_columns_recorded_but_not_compared():
    cond = parse("  x   == 5")
    assert cond.left.column == 3 and cond.column == 7 and cond.value_column == 10
    assert cond == parse("x == 5")


# ---------------------------------------------------------------- syntax errors

@pytest.mark.parametrize("text, column, fragment", [
    ("", 1, "empty"),
    ("   ", 1, "empty"),
    ("x == 'abc", 6, "unterminated string: expected a closing '"),
    ('x == "abc\\"', 6, 'expected a closing "'),
    ("x ==", 5, "expected a value after '==' but found end of text"),
    ("x == and", 6, "expected a value after '==' but found 'and'"),
    ("(x == 1", 8, "expected ')' to close the '(' at column 1 but found end of text"),
    ("(x == 1 y", 9, "expected ')' to close the '(' at column 1 but found 'y'"),
    ("x == 1)", 7, "expected 'and', 'or' or end of text but found ')'"),
    ("x == 1 y == 2", 8, "expected 'and', 'or' or end of text but found 'y'"),
    ("x == '居民''b'", 10, "expected 'and', 'or' or end of text but found 'b'"),
    ("x", 2, "expected ==, !=, <, <=, >, >=, in, not in, is or is not after 'x' but found end of text"),
    ("x not y", 3, "after 'x' but found 'not'"),
    ("x == 1 and", 11, "expected a condition (a field, a function or '(') but found end of text"),
    (") x", 1, "expected a condition"),
    ("10 < x", 1, "expected a condition (a field, a function or '(') but found '10'"),
    ("x is 1", 6, "expected true, false or null after 'is' but found '1'"),
    ("x is not", 9, "expected true, false or null after 'is not' but found end of text"),
    ("x in 1", 6, "expected a list such as [a, b] after 'in' but found '1'"),
    ("x not in a", 10, "after 'not in'"),
    ("x in [a b]", 9, "expected ',' or ']' in the list but found 'b'"),
    ("x in [a", 8, "expected ',' or ']' in the list but found end of text"),
    ("x in [[a]]", 7, "expected a value after '[' but found '['"),
    ("x > [a]", 5, "expected a value after '>' but found '['"),
    ("x = 1", 3, "use '=='"),
    ("x == （1）", 6, "full-width character '（' is not allowed; use '('"),
    ("x == 1 ＆ y", 8, "unexpected character '＆'"),
    ("x == 2026-13-01", 6, "'2026-13-01' is not a valid date"),
    ("x == 10kw", 6, "'10kw' is not a valid number"),
    ("x == 1.", 6, "not a valid number"),
    ("_x == 1", 1, "names may not start with '_'"),
    ("f('a')", 3, "expected a name or ')' after 'f(' but found 'a'"),
    ("f(a, b)", 4, "expected ')' to close the '(' at column 2 but found ','"),
    ("all(d)", 6, "expected ',' and a condition after 'd' in all(...) but found ')'"),
    ("all(1, x == 1)", 5, "expected a collection name after 'all(' but found '1'"),
    ("count(d)", 9, "count(...) gives a number; compare it"),
    ("count(d x", 9, "expected ')' to close the '(' at column 6 but found 'x'"),
    ("all(d, x == 1) == 1", 16, "all(...) is already a condition and cannot be compared"),
    ("all(d, any(e, x == 1))", 8, "any(...) cannot be used inside all(...)"),
    ("count(d, count(e) > 1) > 1", 10, "count(...) cannot be used inside count(...)"),
    ("x" * 501, 501, "too long (501 characters, at most 500)"),
    ("not " * 21 + "x == 1", 81, "nested too deeply (at most 20 levels)"),
    ("all(d, " + "not " * 20 + "x == 1)", 84, "nested too deeply"),
    ("(" * 21 + "x == 1" + ")" * 21, 21, "nested too deeply"),
])
def test_syntax_errors(text, column, fragment):
    with pytest.raises(ConditionSyntaxError) as info:
        parse(text)
    err = info.value
    assert err.column == column
    assert fragment in err.message_template.format(**err.params) or fragment in err.render()
    assert str(err) == err.render() and f"(column {column})" in str(err)


def test_limits_are_inclusive():
    parse("x == " + "a" * 495)
    parse("not " * 20 + "x == 1")
    parse("(" * 20 + "x == 1" + ")" * 20)


def test_syntax_error_is_translatable():
    with pytest.raises(ConditionSyntaxError) as info:
        parse("x ==")
    err = info.value
    assert err.message_template == "expected a value after '{after}' but found {found}"
    fake = {err.message_template: "在“{after}”之后应为一个值，但发现{found}", "end of text": "文本结尾"}
    assert err.render(lambda s: fake.get(s, s)) == "在“==”之后应为一个值，但发现文本结尾 (column 5)"


# ---------------------------------------------------------------- hostile text

HOSTILE = [
    "__import__('os').system('x')",
    "().__class__",
    "().__class__.__bases__[0].__subclasses__()",
    "open('/etc/passwd')",
    "eval('1')",
    "exec('import os')",
    "lambda: 1",
    "x == 1; import os",
    "x.__class__ == 1",
    "{'a': 1}",
    "x == `id`",
    "x == $HOME",
    "x == 1 # comment",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_a_syntax_error_and_runs_nothing(text, monkeypatch):
    calls = []

    def spy(*args, **kwargs):
        calls.append(args)
        raise AssertionError("must not run")

    monkeypatch.setattr(os, "system", spy)
    monkeypatch.setattr(subprocess, "Popen", spy)
    monkeypatch.setattr("builtins.eval", spy)
    monkeypatch.setattr("builtins.exec", spy)
    monkeypatch.setattr("builtins.open", spy)
    with pytest.raises(ConditionSyntaxError):
        parse(text)
    assert calls == []


def test_function_names_only_reach_the_host_mapping():
    # 'system(x)' is syntactically a host function; evaluation only looks in the given mapping.
    cond = parse("system(rm)")
    with pytest.raises(ConditionEvaluationError) as info:
        evaluate(cond, {}, {}, {})
    assert info.value.params == {"name": "system"}
    assert evaluate(cond, {}, {}, {"system": lambda arg: arg == "rm"}) is True


@pytest.mark.parametrize("path", sorted(Path(cm.__file__).parent.glob("condition*.py")), ids=lambda p: p.name)
def test_module_source_never_evaluates_code(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"eval", "exec", "compile", "__import__", "setattr"}
            if node.func.id == "getattr":  # only fixed attribute names, never user text
                assert isinstance(node.args[1], ast.Constant)
        if isinstance(node, ast.Attribute):
            assert node.attr not in {"literal_eval", "import_module"}
        assert not isinstance(node, (ast.Import, ast.ImportFrom)) or not any(
            a.name.split(".")[0] in {"flask", "flask_appbuilder", "sqlalchemy"} for a in node.names)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_or_raises_syntax_error(text):
    try:
        cond = parse(text)
    except ConditionSyntaxError as err:
        assert err.column is not None and 1 <= err.column <= len(text) + 1
        return
    assert parse(str(cond)) == cond


# ---------------------------------------------------------------- round trip of generated trees

_names = st.sampled_from(["a", "capacity_kw", "居民", "x1"])
_scalars = st.one_of(
    st.integers(-10**6, 10**6), st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**6,
                                            min_value=-10**6),
    st.text(alphabet="ab 居'\"\\_-1", max_size=6), st.booleans(), st.none(),
    st.dates(min_value=date(1000, 1, 1)))


def _compares(fields):
    return st.one_of(
        st.builds(Compare, fields, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), _scalars),
        st.builds(Compare, fields, st.sampled_from(["in", "not in"]), st.lists(_scalars, max_size=3).map(tuple)),
        st.builds(Compare, fields, st.sampled_from(["is", "is not"]), st.sampled_from([True, False, None])))


def _trees(leaves):
    return st.recursive(leaves, lambda sub: st.one_of(
        st.builds(Not, sub),
        st.lists(sub, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(sub, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs)))), max_leaves=6)


_inner = _trees(_compares(st.builds(FieldRef, _names)))
_leaves = st.one_of(
    _compares(st.one_of(st.builds(FieldRef, _names), st.builds(Call, _names, st.one_of(st.none(), _names)),
                        st.builds(Count, _names, st.one_of(st.none(), _inner)))),
    st.builds(Predicate, st.builds(Call, _names, st.one_of(st.none(), _names))),
    st.builds(Quantified, st.sampled_from(["all", "any"]), _names, _inner))


@settings(max_examples=300, deadline=None)
@given(_trees(_leaves))
def test_generated_trees_round_trip(cond):
    # Generated trees may nest and/or inside and/or, which the parser flattens, so compare text.
    text = str(cond)
    if len(text) > cm.MAX_LENGTH:
        return
    try:
        again = parse(text)
    except ConditionSyntaxError as err:
        assert "nested too deeply" in err.message_template
        return
    assert str(again) == text
    assert parse(str(again)) == again


# ---------------------------------------------------------------- check

FIELDS = {
    "customer_type": FieldInfo("choice", ("residential", "commercial", "industrial")),
    "business_type": FieldInfo("choice", ("new", "increase", "decrease")),
    "capacity_kw": FieldInfo("decimal"),
    "needs_engineering": FieldInfo("boolean"),
    "meter_no": FieldInfo("string"),
    "remark": FieldInfo("text"),
    "signed_on": FieldInfo("date"),
    "submitted_at": FieldInfo("datetime"),
    "applicant": FieldInfo("reference"),
    "id_card_scan": FieldInfo("file"),
    "count_phases": FieldInfo("integer"),
}
COLLECTIONS = {"defects": {"fixed": FieldInfo("boolean"), "severity": FieldInfo("choice", ("minor", "major"))}}
FUNCTIONS = {
    "documents_complete": FunctionInfo(takes_argument=False),
    "timer_overdue": FunctionInfo(takes_argument=True, allowed=("plan_reply", "survey")),
    "timer_status": FunctionInfo(takes_argument=True, allowed=("plan_reply", "survey"),
                                 result=FieldInfo("choice", ("running", "overdue", "done"))),
    "has_role": FunctionInfo(takes_argument=True),
    "remaining_days": FunctionInfo(takes_argument=True, result=FieldInfo("integer")),
}


def problems(text):
    return check(parse(text), FIELDS, COLLECTIONS, FUNCTIONS)


def codes(text):
    return [p.code for p in problems(text)]


@pytest.mark.parametrize("text", EXAMPLES[:13] + [
    "capacity_kw > 10.5 and signed_on >= 2026-01-01 and submitted_at < 2026-10-01",
    "customer_type in [residential, commercial] and meter_no != 'A 1' and remark is not null",
    "id_card_scan is not null and applicant == 12 and count_phases == 3",
    "timer_status(survey) in [running, done] and remaining_days(survey) < 3 and has_role(manager)",
    "count(defects, severity == major and fixed is false) == 0 and customer_type == null",
])
def test_valid_conditions_have_no_problems(text):
    scope_fields = {**FIELDS, "plan_reply_reason": FieldInfo("text")}
    assert check(parse(text), scope_fields, COLLECTIONS, FUNCTIONS) == []


@pytest.mark.parametrize("text, code, column, params", [
    ("custmer_type == residential", "C201", 1, {"field": "custmer_type", "suggestion": "customer_type"}),
    ("all(defect, fixed is true)", "C202", 1, {"collection": "defect", "suggestion": "defects"}),
    ("count(photos) > 0", "C202", 1, {"collection": "photos", "suggestion": ""}),
    ("all(defects, fixd is true)", "C203", 14, {"collection": "defects", "field": "fixd", "suggestion": "fixed"}),
    ("documents_complet()", "C204", 1, {"function": "documents_complet", "suggestion": "documents_complete"}),
    ("documents_complete(all_of_them)", "C205", 1, {"function": "documents_complete", "argument": "all_of_them"}),
    ("timer_overdue()", "C206", 1, {"function": "timer_overdue"}),
    ("timer_overdue(plan_replay)", "C207", 1, {"argument": "plan_replay", "suggestion": "plan_reply"}),
    ("customer_type == residental", "C208", 18, {"value": "residental", "suggestion": "residential"}),
    ("business_type not in [new, gone]", "C208", 22, {"value": "gone", "field": "business_type"}),
    ("timer_status(survey) == late", "C208", 25, {"value": "late", "field": "timer_status(survey)"}),
    ("count(defects, severity == big) > 0", "C208", 28, {"value": "big", "field": "severity"}),
    ("meter_no > abc", "C209", 10, {"field": "meter_no", "type": "string", "op": ">"}),
    ("customer_type < commercial", "C209", 15, {"type": "choice"}),
    ("needs_engineering >= true", "C209", 19, {"type": "boolean"}),
    ("meter_no is true", "C210", 10, {"field": "meter_no", "op": "is", "value": "true"}),
    ("count(defects) is not false", "C210", 16, {"field": "count(defects)", "type": "integer"}),
    ("capacity_kw > big", "C211", 15, {"field": "capacity_kw", "type": "decimal", "value": "big"}),
    ("signed_on < 5", "C211", 13, {"type": "date", "value": "5"}),
    ("needs_engineering == 'yes'", "C211", 22, {"type": "boolean", "value": "yes"}),
    ("meter_no == 12", "C211", 13, {"type": "string", "value": "12"}),
    ("id_card_scan == 'a.pdf'", "C211", 17, {"type": "file", "value": '"a.pdf"'}),
    ("count_phases in [1, two]", "C211", 17, {"value": "two"}),
    ("remaining_days(survey)", "C212", 1, {"function": "remaining_days", "type": "integer"}),
])
def test_each_problem_code(text, code, column, params):
    found = problems(text)
    assert [p.code for p in found] == [code]
    problem = found[0]
    assert problem.column == column
    assert params.items() <= dict(problem.params).items()
    problem.render()  # every template formats with its own params
    problem.render_hint()


def test_hints():
    assert problems("custmer_type == residential")[0].render_hint() == "did you mean 'customer_type'?"
    assert problems("zzz == 1")[0].render_hint() is None
    assert problems("customer_type == residental")[0].render_hint() == \
        "did you mean 'residential'? Allowed values: residential, commercial, industrial"
    assert problems("customer_type == zzz")[0].render_hint() == \
        "allowed values: residential, commercial, industrial"
    assert problems("timer_overdue()")[0].render_hint() == "allowed values: plan_reply, survey"
    assert problems("has_role()")[0].render_hint() is None
    assert problems("documents_complete(x)")[0].render_hint() == "write documents_complete()"


def test_check_reports_every_problem_in_order():
    text = ("custmer_type == residential and meter_no > abc and all(defects, fixd is true)"
            " and timer_overdue(plan_replay) and nope() and capacity_kw in [1, big, 2] and all(nothing, a == 1)")
    assert codes(text) == ["C201", "C209", "C203", "C207", "C204", "C211", "C202"]


def test_check_of_choice_list_reports_each_bad_item():
    assert codes("customer_type in [residental, commercial, farm]") == ["C208", "C208"]


def test_check_of_untyped_function_result_and_null_comparison():
    # Without result= a function is untyped: usable alone or compared, never flagged.
    funcs = {"f": FunctionInfo(takes_argument=True)}
    assert check(parse("f(x) == anything and f(y) and f(z) > 3"), {}, {}, funcs) == []
    assert check(parse("capacity_kw == null and customer_type != null"), FIELDS) == []


def test_check_with_wrong_arity_still_checks_the_comparison():
    assert codes("timer_status() == late") == ["C206", "C208"]


def test_field_info_rejects_unknown_type():
    with pytest.raises(ValueError):
        FieldInfo("money")


def test_problem_codes_are_documented():
    for n in range(201, 213):
        assert f"C{n}  " in cm.__doc__


# ---------------------------------------------------------------- evaluate

class Kind(enum.Enum):
    RESIDENTIAL = "residential"


@pytest.mark.parametrize("text, record, expected", [
    ("x == residential", {"x": "residential"}, True),
    ("x == residential", {"x": "commercial"}, False),
    ("x == residential", {"x": Kind.RESIDENTIAL}, True),
    ("x == '380'", {"x": 380}, True),  # choice codes compare as strings
    ("x == 380", {"x": "380"}, True),
    ("x != residential", {}, True),
    ("x == residential", {}, False),
    ("x == null", {}, True),
    ("x == null", {"x": 0}, False),
    ("x != null", {"x": ""}, True),
    ("x is null", {"x": None}, True),
    ("x is null", {}, True),
    ("x is not null", {"x": 0}, True),
    ("x is true", {"x": True}, True),
    ("x is true", {"x": 1}, False),  # identity, not truthiness
    ("x is false", {"x": False}, True),
    ("x is false", {"x": None}, False),  # unset is neither true nor false
    ("x is false", {}, False),
    ("x is not false", {}, True),
    ("x == true", {"x": 1}, False),
    ("x == 1", {"x": True}, False),
    ("x > 10", {"x": 11}, True),
    ("x > 10", {"x": 10}, False),
    ("x >= 10", {"x": 10}, True),
    ("x < 10", {"x": None}, False),
    ("x > 10", {"x": None}, False),
    ("x <= 10", {}, False),
    ("x > 10", {"x": "11"}, False),  # unrelated types never order
    ("x > 0", {"x": True}, False),
    ("x == 12.5", {"x": 12.5}, True),
    ("x == 0.1", {"x": 0.1}, True),
    ("x == 12.5", {"x": Decimal("12.50")}, True),
    ("x == 12", {"x": 12.0}, True),
    ("x < 12.5", {"x": 12}, True),
    ("x > 12.5", {"x": float("inf")}, True),
    ("x > 12.5", {"x": float("nan")}, False),
    ("x < 12.5", {"x": float("nan")}, False),
    ("x == 2026-10-01", {"x": date(2026, 10, 1)}, True),
    ("x < 2026-10-01", {"x": date(2026, 9, 30)}, True),
    ("x < 2026-10-01", {"x": datetime(2026, 9, 30, 23, 59)}, True),
    ("x == 2026-10-01", {"x": datetime(2026, 10, 1, 8, 0)}, True),
    ("x < 2026-10-01", {"x": "2026-09-30"}, False),
    ("x > abc", {"x": "abd"}, True),
    ("x in [a, b]", {"x": "b"}, True),
    ("x in [a, b]", {"x": "c"}, False),
    ("x in [a, b]", {}, False),
    ("x not in [a, b]", {}, True),
    ("x not in [a, b]", {"x": "a"}, False),
    ("x in [1, 2.5]", {"x": Decimal("2.5")}, True),
    ("x in [a, null]", {}, True),
    ("x in []", {"x": "a"}, False),
    ("a == 1 and b == 1", {"a": 1, "b": 1}, True),
    ("a == 1 and b == 1", {"a": 1, "b": 2}, False),
    ("a == 1 or b == 1", {"a": 2, "b": 1}, True),
    ("a == 1 or b == 1", {"a": 2, "b": 2}, False),
    ("not a == 1", {"a": 2}, True),
    ("not a == 1", {"a": 1}, False),
    ("a == 1 or b == 1 and c == 1", {"a": 1}, True),
    ("(a == 1 or b == 1) and c == 1", {"a": 1}, False),
    ("not (customer_type == residential and needs_engineering is false)",
     {"customer_type": "residential", "needs_engineering": False}, False),
    ("not (customer_type == residential and needs_engineering is false)",
     {"customer_type": "residential", "needs_engineering": True}, True),
])
def test_evaluate_truth_table(text, record, expected):
    assert evaluate(parse(text), record) is expected


DEFECTS = [{"fixed": True, "severity": "major"}, {"fixed": False, "severity": "minor"}, {"severity": "minor"}]


@pytest.mark.parametrize("text, rows, expected", [
    ("all(defects, fixed is true)", DEFECTS, False),
    ("all(defects, fixed is true)", DEFECTS[:1], True),
    ("all(defects, fixed is true)", [], True),
    ("any(defects, fixed is false)", DEFECTS, True),
    ("any(defects, fixed is false)", [], False),
    ("any(defects, severity == major and fixed is true)", DEFECTS, True),
    ("count(defects) == 3", DEFECTS, True),
    ("count(defects, fixed is false) > 0", DEFECTS, True),
    ("count(defects, fixed is not true) == 2", DEFECTS, True),
    ("count(defects, fixed is false) == 0", DEFECTS[:1], True),
    ("count(defects) == 0", None, True),  # a missing collection is empty
    ("all(defects, fixed is true)", None, True),
    ("any(defects, fixed is true)", iter(DEFECTS), True),  # any iterable of mappings
    ("count(defects) == 3", (r for r in DEFECTS), True),
])
def test_evaluate_collections(text, rows, expected):
    collections = {} if rows is None else {"defects": rows}
    assert evaluate(parse(text), {"fixed": False}, collections, {}) is expected


def test_inner_conditions_see_rows_not_the_record():
    cond = parse("all(defects, fixed is true)")
    assert evaluate(cond, {"fixed": True}, {"defects": [{"fixed": False}]}) is False


def test_evaluate_functions():
    seen = []
    functions = {
        "documents_complete": lambda: True,
        "timer_overdue": lambda name: seen.append(name) or name == "plan_reply",
        "timer_status": lambda name: "overdue",
    }
    assert evaluate(parse("documents_complete()"), {}, {}, functions) is True
    assert evaluate(parse("timer_overdue(plan_reply)"), {}, {}, functions) is True
    assert evaluate(parse("timer_overdue(survey)"), {}, {}, functions) is False
    assert evaluate(parse("timer_status(survey) == overdue"), {}, {}, functions) is True
    assert evaluate(parse("timer_status(survey) in [running, done]"), {}, {}, functions) is False
    assert seen == ["plan_reply", "survey"]


def test_evaluate_unknown_function_raises_with_column():
    with pytest.raises(ConditionEvaluationError) as info:
        evaluate(parse("x == 1 or missing()"), {})
    assert info.value.column == 11
    assert "unknown function 'missing'" in str(info.value)


def test_host_function_errors_propagate():
    def broken():
        raise RuntimeError("db down")

    with pytest.raises(RuntimeError, match="db down"):
        evaluate(parse("documents_complete()"), {}, {}, {"documents_complete": broken})


# ---------------------------------------------------------------- explain

@pytest.mark.parametrize("text, record, failed", [
    ("a == 1 and b == 1", {"a": 1, "b": 2}, ["b == 1"]),
    ("a == 1 and b == 1", {"a": 1, "b": 1}, []),
    ("a == 1 and b == 1", {}, ["a == 1", "b == 1"]),
    ("a == 1 or b == 1", {}, ["a == 1", "b == 1"]),
    ("a == 1 or b == 1", {"b": 1}, []),
    ("a == 1 and (b == 1 or c == 1)", {"a": 1}, ["b == 1", "c == 1"]),
    ("not (a == 1 and b == 1)", {"a": 1, "b": 1}, ["not (a == 1 and b == 1)"]),
    ("capacity_kw>10 and all(defects,fixed is true)", {"capacity_kw": 12}, ["all(defects, fixed is true)"]),
    ("count(defects) == 0 and documents_complete()", {}, ["count(defects) == 0", "documents_complete()"]),
])
def test_explain(text, record, failed):
    collections = {"defects": [{"fixed": False}]}
    functions = {"documents_complete": lambda: False}
    assert explain(parse(text), record, collections, functions) == failed
