"""apps.access sits above the domain apps' models without importing them, so they can all import it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, function-local imports included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_the_access_app_imports_no_other_app():
    for path in (ROOT / "apps" / "access").rglob("*.py"):
        others = {
            m for m in imported_modules(path) if m.startswith("apps.") and not m.startswith("apps.access")
        }
        assert not others, f"{path.relative_to(ROOT)} imports {others}: reach models with apps.get_model"


def test_account_roles_import_neither_cruises_nor_audit():
    modules = imported_modules(ROOT / "apps" / "accounts" / "roles.py")
    assert not {m for m in modules if m.startswith(("apps.cruises", "apps.audit"))}
    assert {m for m in modules if m.startswith("apps.access")} <= {"apps.access.roles"}


def test_audit_does_not_import_accounts():
    for path in (ROOT / "apps" / "audit").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        assert not {m for m in imported_modules(path) if m.startswith("apps.accounts")}, path
