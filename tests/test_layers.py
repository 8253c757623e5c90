"""Layer rules of app/: the import-linter contracts in .importlinter, plus checks over grimp's import
graph that no contract file can forget: web modules are imported only by the web layer, no module
imports itself in a circle, modules stay small and no two classes share a name."""
from __future__ import annotations

import ast
import configparser
import copy
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
CAPABILITIES = ("cases", "deadlines", "assessment", "printing", "portal", "generated", "security", "database",
                "versions")


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("app", include_external_packages=False, exclude_type_checking_imports=True,
                             cache_dir=None)


def is_web(module: str) -> bool:
    """The web layer: a package's `views` (module or package) and `cli`, and the composition roots."""
    parts = module.split(".")
    return (module in ("app", "app.cli") or (len(parts) >= 3 and parts[2] in ("views", "cli"))
            or (len(parts) == 2 and parts[1] in CAPABILITIES))  # a package's __init__ wires it (init_app)


def web_imports_from_domain(graph) -> list[tuple[str, str]]:
    return sorted((m, i) for m in graph.modules if m.startswith("app") and not is_web(m)
                  for i in graph.find_modules_directly_imported_by(m) if is_web(i) and i != "app")


def cycles(graph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_import_linter_contracts_are_kept():
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache",
                             str(ROOT / ".importlinter")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_domain_modules_never_import_the_web_layer(graph):
    assert web_imports_from_domain(graph) == []


def test_the_contract_file_lists_every_domain_module(graph):
    """The domain-not-web contract names modules one by one: a new domain module must be added to it."""
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    listed = set(config["importlinter:contract:domain-not-web"]["source_modules"].split())
    domain = {m for m in graph.modules
              if m.split(".")[1:2] and m.split(".")[1] in CAPABILITIES and not is_web(m)}
    covered = {m for m in domain if any(m == s or m.startswith(s + ".") for s in listed)}
    assert domain - covered == set()


def test_no_module_imports_itself_in_a_circle(graph):
    assert cycles(graph) == []


def test_the_checks_fail_on_a_forbidden_import(graph):
    """The checks above can fail: a domain module importing a view, and a circle, are both found."""
    broken = copy.deepcopy(graph)
    broken.add_import(importer="app.deadlines.timers", imported="app.deadlines.views.dashboard")
    assert ("app.deadlines.timers", "app.deadlines.views.dashboard") in web_imports_from_domain(broken)
    broken.add_import(importer="app.model.schema", imported="app.model.loader")
    assert any({"app.model.schema", "app.model.loader"} <= set(c) for c in cycles(broken))


def test_modules_stay_under_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "app").rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}


def test_no_two_classes_of_the_app_share_a_name():
    seen: dict[str, list[str]] = {}
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                seen.setdefault(node.name, []).append(str(path.relative_to(ROOT)))
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}
