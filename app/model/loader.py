"""Load model.yaml safely, keep every value's line and column, and validate its shape."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from app.model import pydantic_words

from .checks import check_model
from .problems import ModelError, N_, Problem
from .schema import KEY_PATTERN, Model

Path_ = tuple  # a path of keys and indexes into the document


@dataclass(frozen=True)
class Source:
    """Where each value of the document sits: value and key positions by path."""

    values: dict[Path_, tuple[int, int]]
    keys: dict[Path_, tuple[int, int]]

    def at(self, path: Path_, key: bool = False) -> tuple[int, int]:
        """Position of the longest known prefix of `path` (1-based line and column)."""
        table = self.keys if key else self.values
        for end in range(len(path), -1, -1):
            if path[:end] in table:
                return table[path[:end]]
            if key and path[:end] in self.values:
                return self.values[path[:end]]
        return (1, 1)


@dataclass(frozen=True)
class LoadedModel:
    """A valid model with where it came from and a fingerprint of its text."""

    model: Model
    source: Source
    filename: str
    digest: str


# libyaml's scanner is about 10x faster than the pure-Python one; both only build plain data.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


def _construct(node: yaml.Node, path: Path_, src: Source, problems: list[Problem],
               seen: set[int] | None = None) -> Any:
    seen = set() if seen is None else seen
    if id(node) in seen:
        # An alias (*name): refused, since expanding them can loop or explode in size.
        problems.append(Problem(*_mark(node), "M006", N_("YAML aliases (&name / *name) are not supported"),
                                hint=N_("write the value out in full")))
        return None
    if not isinstance(node, yaml.ScalarNode):
        seen.add(id(node))
        if node.tag not in _PLAIN_TAGS:
            problems.append(Problem(*_mark(node), "M005", N_("unsupported YAML value: {detail}"),
                                    (("detail", node.tag),),
                                    N_("only plain text, numbers, booleans, lists and mappings are allowed")))
            return None
    src.values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _construct(key_node, path + ("<key>",), src, problems, seen)
            if not isinstance(key, str) and not (isinstance(key, int) and not isinstance(key, bool)):
                problems.append(Problem(*_mark(key_node), "M004", N_("a key must be plain text")))
                continue
            key = str(key)
            if key in result:
                problems.append(Problem(*_mark(key_node), "M002",
                                        N_("duplicate key '{key}'"), (("key", key),),
                                        N_("each key may appear once in a mapping; merge the two entries")))
                continue
            src.keys[path + (key,)] = _mark(key_node)
            result[key] = _construct(value_node, path + (key,), src, problems, seen)
        src.values.pop(path + ("<key>",), None)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, path + (i,), src, problems, seen) for i, item in enumerate(node.value)]
    # Scalars go through the safe constructor only: no tags that build Python objects.
    try:
        return _CONSTRUCTOR.construct_object(node, deep=True)
    except (ValueError, TypeError, OverflowError) as exc:
        problems.append(Problem(*_mark(node), "M005", N_("unsupported YAML value: {detail}"),
                                (("detail", f"{node.value!r} ({exc})"),),
                                N_("only plain text, numbers, booleans, lists and mappings are allowed")))
        return None


class _Constructor(yaml.constructor.SafeConstructor):
    """Builds plain scalars only; forgets each node so memory does not grow across loads."""

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        finally:
            self.constructed_objects.pop(node, None)


_CONSTRUCTOR = _Constructor()


def parse_document(text: str) -> tuple[Any, Source, list[Problem]]:
    """Compose YAML with the safe loader and record positions; never raises on bad YAML."""
    src = Source({}, {})
    problems: list[Problem] = []
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.append(Problem(line, col, "M001", N_("YAML syntax error: {detail}"),
                                (("detail", getattr(exc, "problem", None) or str(exc)),),
                                N_("check indentation and quoting on this line")))
        return None, src, problems
    if node is None:
        return {}, src, problems
    try:
        data = _construct(node, (), src, problems)
        if any(p.code in ("M005", "M006") for p in problems):
            return None, src, problems  # a value was refused: validating the rest would only add noise
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        problems.append(Problem(mark.line + 1, mark.column + 1, "M005",
                                N_("unsupported YAML value: {detail}"), (("detail", exc.problem),),
                                N_("only plain text, numbers, booleans, lists and mappings are allowed")))
        return None, src, problems
    return data, src, problems


_PYDANTIC = {
    "extra_forbidden": ("M010", N_("unknown key '{key}'"),
                        N_("remove it or check its spelling against the documented keys")),
    "missing": ("M011", N_("missing required key '{key}'"), N_("add '{key}' here")),
    "string_pattern_mismatch": ("M013", N_("'{value}' is not a valid name"),
                                N_("use lower-case English snake_case, e.g. 'supply_plan'")),
}
_UPPER_HINT = N_("use upper-case letters and digits, e.g. 'YK' or 'A12'")


def _branch_fits(tag: str, value: Any) -> bool:
    """Whether a union branch pydantic names in a location ('list[LimitCase]', 'AmountRange',
    'int') is the one the document's value was written for; errors of other branches are noise."""
    if tag.startswith("list["):
        return isinstance(value, list)
    if tag[:1].isupper():
        return isinstance(value, dict)
    return not isinstance(value, (list, dict))


def _document_path(loc: tuple, src: Source, data: Any) -> tuple | None:
    """The location without union branch names, or None when the error is of another branch."""
    path: tuple = ()
    value = data
    for part in loc:
        if isinstance(part, str) and _is_branch(part) and path + (part,) not in src.keys:
            if not _branch_fits(part, value):
                return None
            continue
        path += (part,)
        value = value[part] if isinstance(value, (dict, list)) and _has(value, part) else None
    return path


def _is_branch(part: str) -> bool:
    return ("[" in part or "-" in part or part[:1].isupper()
            or part in ("int", "str", "bool", "float", "decimal"))


def _has(value: Any, part: Any) -> bool:
    if isinstance(value, dict):
        return part in value
    return isinstance(part, int) and 0 <= part < len(value)


def _pydantic_problems(exc: ValidationError, src: Source, data: Any) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = _document_path(tuple(err["loc"]), src, data)
        if loc is None:
            continue
        kind = err["type"]
        key = str(loc[-1]) if loc else ""
        if kind in _PYDANTIC:
            code, message, hint = _PYDANTIC[kind]
            if kind == "string_pattern_mismatch" and "A-Z" in str(err.get("ctx", {}).get("pattern", ""))[:6]:
                hint = _UPPER_HINT
            line, col = src.at(loc, key=(kind == "extra_forbidden"))
            problems.append(Problem(line, col, code, message,
                                    (("key", key), ("value", str(err.get("input")))), hint))
            continue
        line, col = src.at(loc)
        where = ".".join(str(p) for p in loc)
        problems.append(Problem(line, col, "M012", N_("invalid value at '{where}': {detail}"),
                                (("where", where), ("detail", pydantic_words.detail(err))),
                                N_("see the model documentation in README.md for the allowed values")))
    return problems


def _key_problems(data: dict, src: Source) -> list[Problem]:
    """Dictionary keys that name things (entities, fields, roles...) must be snake_case."""
    pattern = re.compile(KEY_PATTERN)
    problems = []
    named = [("roles",), ("menus",), ("entities",), ("timers",), ("forms",)]
    if isinstance(data.get("entities"), dict):
        named += [("entities", e, "fields") for e in data["entities"]]
    if isinstance(data.get("workflow"), dict):
        named.append(("workflow", "stages"))
    for path in named:
        block = data
        for part in path:
            block = block.get(part) if isinstance(block, dict) else None
        for key in (block or {}) if isinstance(block, dict) else ():
            if not pattern.match(key):
                line, col = src.at(path + (key,), key=True)
                problems.append(Problem(line, col, "M013", N_("'{value}' is not a valid name"),
                                        (("value", key),),
                                        N_("use lower-case English snake_case, e.g. 'supply_plan'")))
    return problems


def load_text(text: str, filename: str = "model.yaml") -> LoadedModel:
    """Parse and fully check a model; raise ModelError listing every problem."""
    data, src, problems = parse_document(text)
    if data is None:
        raise ModelError(filename, problems)
    if not isinstance(data, dict):
        problems.append(Problem(1, 1, "M003", N_("the model must be a mapping of sections"),
                                hint=N_("start with 'version:', 'roles:', 'entities:' ...")))
        raise ModelError(filename, problems)
    problems += _key_problems(data, src)
    try:
        model = Model.model_validate(data)
    except ValidationError as exc:
        raise ModelError(filename, problems + _pydantic_problems(exc, src, data)) from None
    problems += check_model(model, src)
    if problems:
        raise ModelError(filename, problems)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return LoadedModel(model, src, filename, digest)


def load_file(path: str | Path) -> LoadedModel:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(str(path), [Problem(1, 1, "M000", N_("cannot read the model file: {detail}"),
                                             (("detail", str(exc)),),
                                             N_("set MODEL_PATH to a readable UTF-8 YAML file"))]) from None
    return load_text(text, str(path))
