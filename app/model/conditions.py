"""The public API of the condition language for workflow guards and fine rules: parse, check, evaluate.

Admin-written text goes through a hand-written tokenizer and recursive-descent parser only: it
never reaches eval/exec/compile, getattr or imports. A bare name right of a comparison is a string
(a choice value); inside all/any/count the condition names fields of each row of the collection.

Other code imports this module only (``from app.model import conditions``); the language lives in
condition_errors (errors), condition_tree (syntax tree), condition_parser (parse),
condition_checks (check) and condition_evaluation (evaluate, explain).

Problem codes returned by check() (stable; templates are English, marked with N_ for babel):

====  =====================================================================
code  meaning
====  =====================================================================
C201  unknown field (hint: closest known name)
C202  unknown collection in all()/any()/count()
C203  field not in that collection
C204  unknown function
C205  function takes no argument but one was given
C206  function needs an argument but none was given
C207  argument not among the function's allowed values
C208  value not among the choices of a choice field
C209  <, <=, >, >= on a type without order (only integer, decimal, date, datetime)
C210  'is true' / 'is false' on a non-boolean
C211  value of the wrong type for the field (e.g. a word compared with an integer)
C212  function that returns a non-boolean value used alone as a condition
====  =====================================================================
"""
from __future__ import annotations

from .condition_checks import FIELD_TYPES, ORDERABLE, ConditionProblem, FieldInfo, FunctionInfo, check
from .condition_errors import N_, ConditionError, ConditionEvaluationError, ConditionSyntaxError
from .condition_evaluation import evaluate, explain
from .condition_parser import COLLECTION_FUNCTIONS, MAX_DEPTH, MAX_LENGTH, parse
from .condition_tree import (
    KEYWORDS, And, Call, Compare, Condition, Count, FieldRef, Node, Not, Or, Predicate, Quantified,
)

__all__ = [
    "COLLECTION_FUNCTIONS", "FIELD_TYPES", "KEYWORDS", "MAX_DEPTH", "MAX_LENGTH", "N_", "ORDERABLE",
    "And", "Call", "Compare", "Condition", "ConditionError", "ConditionEvaluationError", "ConditionProblem",
    "ConditionSyntaxError", "Count", "FieldInfo", "FieldRef", "FunctionInfo", "Node", "Not", "Or", "Predicate",
    "Quantified", "check", "evaluate", "explain", "parse",
]
