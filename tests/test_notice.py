"""Tests for app.workflow.notice.parse_notice: valid CSV/YAML notices and one test per problem code."""

from __future__ import annotations

from datetime import date

import pytest

from app.workflow.calendar import WorkCalendar
from app.workflow.notice import Notice, NoticeError, NoticeProblem, parse_notice

VALID_CSV = """\
# year: 2027
date,kind,name
2027-01-01,holiday,元旦
2027-02-05,holiday,春节
2027-02-06,holiday,春节

2027-02-20,workday,春节调休上班
"""

VALID_YAML = """\
year: 2027
holidays:
  - {date: 2027-01-01, name: 元旦}
  - date: 2027-02-05
    name: 春节
  - {date: 2027-02-06}
workdays:
  - {date: 2027-02-20, name: 春节调休上班}
"""


def problems_of(text: str, fmt: str | None = None) -> list[NoticeProblem]:
    with pytest.raises(NoticeError) as info:
        parse_notice(text, fmt)
    return info.value.problems


def codes(problems: list[NoticeProblem]) -> list[tuple[int | None, str]]:
    return [(p.line, p.code) for p in problems]


# ---- valid notices ----------------------------------------------------------------------

def test_valid_csv():
    notice = parse_notice(VALID_CSV)
    assert notice == Notice(2027, {date(2027, 1, 1): "元旦", date(2027, 2, 5): "春节",
                                   date(2027, 2, 6): "春节"},
                            {date(2027, 2, 20): "春节调休上班"})


def test_valid_yaml():
    notice = parse_notice(VALID_YAML)
    assert notice.year == 2027
    assert notice.holidays == {date(2027, 1, 1): "元旦", date(2027, 2, 5): "春节", date(2027, 2, 6): ""}
    assert notice.workdays == {date(2027, 2, 20): "春节调休上班"}


def test_valid_flow_yaml_without_year():
    notice = parse_notice("{holidays: [{date: 2027-01-01, name: 元旦}],\n workdays: []}")
    assert notice.year == 2027 and list(notice.holidays) == [date(2027, 1, 1)]


def test_files_bom_and_gb18030(tmp_path):
    csv_path = tmp_path / "2027.csv"
    csv_path.write_bytes(VALID_CSV.encode("gb18030"))      # as saved by Excel on Chinese Windows
    assert parse_notice(csv_path).holidays[date(2027, 1, 1)] == "元旦"
    yaml_path = tmp_path / "2027.yml"
    yaml_path.write_bytes(b"\xef\xbb\xbf" + VALID_YAML.encode("utf-8"))
    assert parse_notice(str(yaml_path)).workdays == {date(2027, 2, 20): "春节调休上班"}
    assert parse_notice(VALID_CSV.encode("utf-8")).year == 2027


def test_notice_feeds_the_calendar():
    cal = WorkCalendar.from_chinesecalendar(extra={2027: parse_notice(VALID_CSV).calendar_entry()})
    assert not cal.is_provisional(date(2027, 2, 20))
    assert cal.is_workday(date(2027, 2, 20))
    assert not cal.is_workday(date(2027, 2, 5))


def test_unknown_format_is_a_programming_error():
    with pytest.raises(ValueError, match="format"):
        parse_notice(VALID_CSV, fmt="xlsx")


# ---- one test per problem code ----------------------------------------------------------

@pytest.mark.parametrize("text, fmt", [("", "csv"), ("date,kind,name\n", None),
                                       ("# nothing\n\n", None), ("year: 2027\n", "yaml")])
def test_empty(text, fmt):
    assert codes(problems_of(text, fmt)) == [(None, "empty")]


def test_bad_header():
    assert codes(problems_of("day,type,name\n2027-01-01,holiday,元旦\n")) == [(1, "bad_header")]


def test_bad_row():
    problems = problems_of("date,kind,name\n2027-01-01,holiday\n2027-01-02,holiday,x,y\n")
    assert codes(problems) == [(2, "bad_row"), (3, "bad_row")]
    assert problems[0].params == {"count": 2}


def test_bad_yaml():
    assert codes(problems_of("year: 2027\nholidays: [\n", "yaml")) == [(3, "bad_yaml")]


def test_bad_structure():
    problems = problems_of("year: 2027\nholidays:\n  date: 2027-01-01\nworkdays:\n  - 2027-02-20\n", "yaml")
    assert codes(problems) == [(3, "bad_structure"), (5, "bad_structure")]


def test_unknown_key():
    text = "year: 2027\nholiday:\n  - {date: 2027-01-01}\nholidays:\n  - {date: 2027-01-01, nmae: 元旦}\n"
    assert codes(problems_of(text, "yaml")) == [(2, "unknown_key"), (5, "unknown_key")]


def test_missing_field():
    assert codes(problems_of("holidays:\n  - {name: 元旦}\n", "yaml")) == [(2, "missing_field")]


def test_bad_year():
    assert codes(problems_of("# year: 27\ndate,kind,name\n2027-01-01,holiday,元旦\n")) == [(1, "bad_year")]


@pytest.mark.parametrize("value", ["2027/01/01", "2027-02-30", "20270101", "2027-1-1", ""])
def test_bad_date_csv(value):
    problems = problems_of(f"date,kind,name\n2027-01-01,holiday,元旦\n{value},holiday,x\n")
    assert codes(problems) == [(3, "bad_date")]
    assert problems[0].params == {"value": value}
    assert value in problems[0].format()


def test_bad_date_yaml_keeps_going():
    # 2027-02-30 would make yaml.safe_load raise; here it is one problem among others.
    text = "holidays:\n  - {date: 2027-02-30}\n  - {date: 2027-02-31}\nworkdays:\n  - {date: 2027-02-22}\n"
    assert codes(problems_of(text, "yaml")) == [(2, "bad_date"), (3, "bad_date"), (5, "weekday_makeup")]


def test_wrong_year():
    problems = problems_of("# year: 2027\ndate,kind,name\n2026-12-31,holiday,x\n2027-01-01,holiday,元旦\n")
    assert codes(problems) == [(3, "wrong_year")]
    assert problems[0].params == {"date": "2026-12-31", "year": 2027}


def test_wrong_year_without_declaration_uses_first_date():
    problems = problems_of("date,kind,name\n2027-01-01,holiday,元旦\n2028-01-01,holiday,元旦\n")
    assert codes(problems) == [(3, "wrong_year")]


def test_unknown_kind():
    problems = problems_of("date,kind,name\n2027-01-01,festival,元旦\n")
    assert codes(problems) == [(2, "unknown_kind")]
    assert problems[0].params == {"kind": "festival"}


def test_weekday_makeup():
    problems = problems_of("date,kind,name\n2027-02-22,workday,周一\n")   # a Monday
    assert codes(problems) == [(2, "weekday_makeup")]


@pytest.mark.parametrize("kind", ["holiday", "workday"])
def test_duplicate(kind):
    problems = problems_of(f"date,kind,name\n2027-02-20,{kind},a\n2027-02-20,{kind},b\n")
    assert codes(problems) == [(3, "duplicate")]
    assert problems[0].params == {"date": "2027-02-20", "first_line": 2}


def test_conflict():
    problems = problems_of("date,kind,name\n2027-02-20,workday,a\n2027-02-20,holiday,b\n")
    assert codes(problems) == [(3, "conflict")]
    assert problems[0].params["first_line"] == 2


# ---- collection of all problems and message templates -----------------------------------

def test_all_problems_collected_in_line_order():
    text = ("date,kind,name\n2027-01-01,holiday,元旦\n2027-13-01,holiday,x\n2027-02-22,workday,y\n"
            "2026-05-01,holiday,z\n2027-01-01,holiday,dup\n2027-03-01,party,p\n")
    with pytest.raises(NoticeError) as info:
        parse_notice(text)
    assert codes(info.value.problems) == [(3, "bad_date"), (4, "weekday_makeup"), (5, "wrong_year"),
                                          (6, "duplicate"), (7, "unknown_kind")]
    assert "line 3:" in str(info.value)


def test_templates_are_constant_and_translatable():
    problems = problems_of("date,kind,name\n2027-01-01,festival,元旦\n")
    problem = problems[0]
    assert "{kind}" in problem.message                      # the template, not the filled text
    fake_zh = {problem.message: "未知类型“{kind}”"}
    assert problem.format(lambda s: fake_zh.get(s, s)) == "未知类型“festival”"
