"""A condition in words a person reads (Chinese or English), from the model's labels: the fallback
for a transition condition without its own message. "or" reads 或/or, never like "and"."""
from __future__ import annotations

from datetime import date

from .condition_tree import And, Call, Compare, Condition, Count, FieldRef, Node, Not, Or, Predicate, Quantified

# Per language: the words around labels and values. {l} a label, {v} a value, {c} a collection,
# {w} the condition on its rows, {n} a number.
_WORDS = {
    "zh": {
        "and": "且", "or": "或", "list": "、", "yes": "是", "no": "否", "empty": "空",
        "quote": "“{v}”", "group": "（{w}）", "not": "并非（{w}）",
        "is true": "{l}为“是”", "is false": "{l}为“否”", "is not true": "{l}不为“是”",
        "is not false": "{l}不为“否”", "is null": "{l}未填写", "is not null": "{l}已填写",
        "==": "{l}为{v}", "!=": "{l}不为{v}", "in": "{l}为{v}", "not in": "{l}不是{v}中的任何一项",
        ">": "{l}大于{v}", ">=": "{l}不小于{v}", "<": "{l}小于{v}", "<=": "{l}不大于{v}",
        "rows": "{c}（{w}）", "some": "至少有一条{r}", "none": "没有{r}", "count": "{r}的数量",
        "all": "每条{c}都满足：{w}", "any": "至少有一条{c}满足：{w}",
        "documents_complete": "所需资料已齐全", "timer_overdue": "“{v}”已超期",
        "has_role": "办理人具有“{v}”角色", "timer_status": "“{v}”的时限状态",
        "stage": "环节", "number": "申请编号",
    },
    "en": {
        "and": "and", "or": "or", "list": ", ", "yes": "Yes", "no": "No", "empty": "empty",
        "quote": "“{v}”", "group": "({w})", "not": "not ({w})",
        "is true": "{l} is Yes", "is false": "{l} is No", "is not true": "{l} is not Yes",
        "is not false": "{l} is not No", "is null": "{l} is not filled in", "is not null": "{l} is filled in",
        "==": "{l} is {v}", "!=": "{l} is not {v}", "in": "{l} is {v}", "not in": "{l} is none of {v}",
        ">": "{l} is more than {v}", ">=": "{l} is at least {v}", "<": "{l} is less than {v}",
        "<=": "{l} is at most {v}",
        "rows": "{c} ({w})", "some": "there is at least one {r}", "none": "there is no {r}",
        "count": "the number of {r}",
        "all": "every {c} has: {w}", "any": "at least one {c} has: {w}",
        "documents_complete": "the required documents are complete", "timer_overdue": "“{v}” is overdue",
        "has_role": "the user holds the role “{v}”", "timer_status": "the deadline state of “{v}”",
        "stage": "Stage", "number": "Application no.",
    },
}


def describe(condition: Condition, model, lang: str = "zh") -> str:
    """`condition` (a parsed workflow condition) as a sentence with the model's labels, in `lang`."""
    return _Words(model, "en" if lang.startswith("en") else "zh").condition(condition, None)


class _Words:
    def __init__(self, model, lang: str):
        self.model, self.lang, self.w = model, lang, _WORDS[lang]

    def label(self, item) -> str:
        return item.label_en if self.lang == "en" else item.label_zh

    # ------------------------------------------------------------ names

    def _entity(self, collection: str | None):
        key = collection if collection is not None else self.model.workflow.entity
        return self.model.entities.get(key)

    def field(self, name: str, collection: str | None):
        entity = self._entity(collection)
        return entity.fields.get(name) if entity is not None else None

    def field_label(self, name: str, collection: str | None) -> str:
        spec = self.field(name, collection)
        if spec is not None:
            return self.label(spec)
        if collection is None and name in ("stage", self.model.workflow.state_field):
            return self.w["stage"]
        return self.w.get(name, name) if name == "number" else name

    def collection_label(self, collection: str) -> str:
        entity = self.model.entities.get(collection)
        return self.label(entity) if entity is not None else collection

    def argument(self, call: Call) -> str:
        """The label of a function's argument: a timer or a role."""
        for table in (self.model.timers, self.model.roles):
            if call.arg in table:
                return self.label(table[call.arg])
        return call.arg or ""

    # ------------------------------------------------------------ values

    def value(self, value, name: str | None, collection: str | None, joiner: str | None = None) -> str:
        if isinstance(value, tuple):  # in [a, b]: "a or b"; not in [a, b]: "none of a, b"
            joiner = joiner or (" or " if self.lang == "en" else "或")
            return joiner.join(self.value(v, name, collection) for v in value)
        if value is None:
            return self.w["empty"]
        if isinstance(value, bool):
            return self.w["quote"].format(v=self.w["yes" if value else "no"])
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, str):
            return self.w["quote"].format(v=self.choice_label(value, name, collection))
        return str(value)

    def choice_label(self, value: str, name: str | None, collection: str | None) -> str:
        wf = self.model.workflow
        if collection is None and name == wf.state_field and value in wf.stages:
            return self.label(wf.stages[value])
        spec = self.field(name, collection) if name else None
        for choice in (spec.choices or []) if spec is not None else []:
            if choice.value == value:
                return self.label(choice)
        return value

    # ------------------------------------------------------------ conditions

    def condition(self, node: Node, collection: str | None) -> str:
        if isinstance(node, (And, Or)):
            word = self.w["and" if isinstance(node, And) else "or"]
            parts = [self.grouped(item, node, collection) for item in node.items]
            return f" {word} ".join(parts)
        if isinstance(node, Not):
            return self.w["not"].format(w=self.condition(node.operand, collection))
        if isinstance(node, Predicate):
            return self.call(node.call)
        if isinstance(node, Quantified):
            return self.w[node.quantifier].format(c=self.collection_label(node.collection),
                                                  w=self.condition(node.where, node.collection))
        if isinstance(node, Compare):
            return self.compare(node, collection)
        return str(node)

    def grouped(self, item: Node, parent: Node, collection: str | None) -> str:
        """An 'or' inside an 'and' (and the reverse) is bracketed, so the reader sees what binds."""
        text = self.condition(item, collection)
        if isinstance(item, (And, Or)) and type(item) is not type(parent):
            return self.w["group"].format(w=text)
        return text

    def call(self, call: Call) -> str:
        key = call.name
        if key in self.w:
            return self.w[key].format(v=self.argument(call))
        return f"{key} {call.arg}" if call.arg else key

    def compare(self, node: Compare, collection: str | None) -> str:
        left, op, right = node.left, node.op, node.right
        if isinstance(left, Count):
            return self.count(left, op, right)
        if isinstance(left, FieldRef):
            name, label = left.name, self.field_label(left.name, collection)
        else:  # a function's value, e.g. timer_status(plan_reply)
            name, label = None, self.call(left)
        if op in ("is", "is not"):
            word = {True: "true", False: "false", None: "null"}[right]
            return self.w[f"{op} {word}"].format(l=label)
        if right is None and op in ("==", "!="):
            return self.w["is null" if op == "==" else "is not null"].format(l=label)
        joiner = self.w["list"] if op == "not in" else None
        return self.w[op].format(l=label, v=self.value(right, name, collection, joiner))

    def count(self, count: Count, op: str, right) -> str:
        label = self.collection_label(count.collection)
        rows = label if count.where is None else \
            self.w["rows"].format(c=label, w=self.condition(count.where, count.collection))
        if (op, right) in ((">", 0), (">=", 1), ("!=", 0)):
            return self.w["some"].format(r=rows)
        if (op, right) in (("==", 0), ("<", 1), ("<=", 0)):
            return self.w["none"].format(r=rows)
        return self.w[op].format(l=self.w["count"].format(r=rows), v=right)


def guard_reasons(compiled, messages, failed, model, lang: str = "zh") -> list[str]:
    """What a user reads for the failed conditions (indexes `failed` into `compiled`) of a transition:
    the model's message in `lang` when it gives one, else the condition in words."""
    english = lang.startswith("en")
    out = []
    for index in failed:
        zh, en = messages[index] if index < len(messages) else (None, None)
        out.append((en if english else zh) if zh and en else describe(compiled[index], model, lang))
    return out
