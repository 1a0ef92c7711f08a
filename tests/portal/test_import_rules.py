"""Import rules that keep the apps apart (issue 10, §7), read from the source with ``ast`` so that imports
inside functions count as much as those at the top of a file:

- a service never imports middleware (the request's audit context reaches services through apps.audit);
- an API module (``apps/<app>/api/``) never imports an HTML view module (``apps/<app>/views.py``);
- no import circle between apps under ``apps/`` (``portal/`` wires the apps and offers shared helpers; it is
  not one of them). Imports inside one app (services ↔ tasks) are fine.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Violations that exist today and are being removed by other work. A line here that no longer matches
# anything fails the test, so the list only shrinks: delete the line when the import is gone.
KNOWN = {}


@dataclass(frozen=True)
class Import:
    file: str  # relative to the root, e.g. apps/eventlogs/services.py
    line: int
    module: str  # the absolute module imported, e.g. apps.audit.middleware

    def __str__(self) -> str:
        return f"{self.file}:{self.line} imports {self.module}"


def _package_of(path: Path, root: Path) -> list[str]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return parts if parts[-1] == "__init__" and parts.pop() is not None else parts[:-1]


def imports_in(path: Path, root: Path = ROOT) -> list[Import]:
    """Every module ``path`` imports, anywhere in the file; ``from a import b`` counts as importing both
    ``a`` and ``a.b`` (b may be a module), relative imports are made absolute."""
    rel = str(path.relative_to(root))
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=rel)):
        if isinstance(node, ast.Import):
            found += [Import(rel, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(path, root)
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append(Import(rel, node.lineno, module))
            found += [Import(rel, node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def source_files(root: Path = ROOT) -> list[Path]:
    return sorted(
        p
        for p in (root / "apps").rglob("*.py")
        if "migrations" not in p.parts and "tests" not in p.relative_to(root).parts
    )


def app_of_file(path: str) -> str | None:
    parts = Path(path).parts
    return parts[1] if parts[0] == "apps" and len(parts) > 2 else None


def app_of_module(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "apps" and len(parts) > 1 else None


def is_service(path: str) -> bool:
    parts = Path(path).parts
    return parts[0] == "apps" and (parts[-1] == "services.py" or "services" in parts[:-1])


def is_api(path: str) -> bool:
    parts = Path(path).parts
    return parts[0] == "apps" and len(parts) > 3 and parts[2] == "api"


def middleware_in(module: str) -> str | None:
    """The middleware module ``module`` is or lies in (``apps.audit.middleware``), else None."""
    parts = module.split(".")
    return ".".join(parts[: parts.index("middleware") + 1]) if "middleware" in parts else None


def html_views_in(module: str) -> str | None:
    """The HTML view module ``module`` is or lies in (``apps.submissions.views``), else None."""
    parts = module.split(".")
    return ".".join(parts[:3]) if len(parts) >= 3 and parts[0] == "apps" and parts[2] == "views" else None


def violations(rule: str, root: Path = ROOT) -> list[Import]:
    """The forbidden imports, one per import statement and forbidden module."""
    applies, forbidden = {
        "services-middleware": (is_service, middleware_in),
        "api-views": (is_api, html_views_in),
    }[rule]
    found = {
        Import(imp.file, imp.line, forbidden(imp.module))
        for path in source_files(root)
        if applies(str(path.relative_to(root)))
        for imp in imports_in(path, root)
        if forbidden(imp.module)
    }
    return sorted(found, key=lambda imp: (imp.file, imp.line, imp.module))


def app_edges(root: Path = ROOT) -> dict[tuple[str, str], list[Import]]:
    """(importing app, imported app) → the imports that make the edge."""
    edges: dict[tuple[str, str], list[Import]] = {}
    for path in source_files(root):
        for imp in imports_in(path, root):
            source, target = app_of_file(imp.file), app_of_module(imp.module)
            if source and target and source != target:
                seen = edges.setdefault((source, target), [])
                if not any(other.file == imp.file and other.line == imp.line for other in seen):
                    seen.append(imp)  # one line of evidence per import statement
    return edges


def circles(edges: dict[tuple[str, str], list[Import]]) -> list[list[str]]:
    """The groups of apps that import each other, directly or around a longer loop (strongly connected
    components with more than one app), each sorted, biggest first."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    reach = {a: _reachable(graph, a) for a in graph}
    groups = {frozenset(b for b in reach[a] if a in reach[b]) | {a} for a in graph}
    return sorted((sorted(g) for g in groups if len(g) > 1), key=lambda g: (-len(g), g))


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def describe_circles(edges: dict[tuple[str, str], list[Import]]) -> str:
    lines = []
    pairs = sorted({tuple(sorted(e)) for e in edges if (e[1], e[0]) in edges})
    for a, b in pairs:
        lines.append(f"circle {a} <-> {b}:")
        lines += [f"    {a} -> {b}: {imp}" for imp in edges[(a, b)][:3]]
        lines += [f"    {b} -> {a}: {imp}" for imp in edges[(b, a)][:3]]
    for group in circles(edges):
        lines.append(f"tangle: {', '.join(group)}")
    return "\n".join(lines)


def _check(rule: str) -> None:
    known = {(file, module) for (r, file, module) in KNOWN if r == rule}
    found = violations(rule)
    new = [imp for imp in found if (imp.file, imp.module) not in known]
    stale = known - {(imp.file, imp.module) for imp in found}
    assert not new, f"{rule}: forbidden imports:\n" + "\n".join(f"    {imp}" for imp in new)
    assert not stale, f"{rule}: gone now, delete from KNOWN in this file: {sorted(stale)}"


def test_services_never_import_middleware():
    _check("services-middleware")


def test_api_modules_never_import_html_views():
    _check("api-views")


def test_no_import_circle_between_apps():
    edges = app_edges()
    assert not circles(edges), "import circles between apps:\n" + describe_circles(edges)


def test_the_scan_sees_function_local_and_relative_imports_and_reports_circles(tmp_path):
    """The rules above could fail: on a small tree with one of each violation, each is found."""
    files = {
        "apps/a/services.py": "def f():\n    from apps.b.middleware import x\n",
        "apps/a/api/views.py": "from .. import views\n",
        "apps/a/views.py": "",
        "apps/b/middleware.py": "from apps.c import models\n",
        "apps/c/models.py": "def g():\n    import apps.a.services\n",
        "apps/d/tasks.py": "from apps.a import services\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert [str(i) for i in violations("services-middleware", tmp_path)] == [
        "apps/a/services.py:2 imports apps.b.middleware"
    ]
    assert [str(i) for i in violations("api-views", tmp_path)] == [
        "apps/a/api/views.py:1 imports apps.a.views"
    ]
    edges = app_edges(tmp_path)
    assert circles(edges) == [["a", "b", "c"]]
    assert "tangle: a, b, c" in describe_circles(edges)
