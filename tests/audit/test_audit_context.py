"""The audit context: how a request was authenticated is marked once, through one public API, and read
by the service rows and the middleware's request row alike; services never import middleware."""

import ast
from pathlib import Path

from django.contrib.auth.models import AnonymousUser
from rest_framework.request import Request

from apps.audit.context import auth_system, mark_auth_system

APPS = Path(__file__).resolve().parents[2] / "apps"


def test_a_mark_on_the_api_request_is_seen_through_the_django_request_under_it(rf, plain_user):
    django_request = rf.post("/api/x")
    django_request.user = AnonymousUser()
    api_request = Request(django_request)
    mark_auth_system(api_request, "token")
    assert auth_system(django_request) == auth_system(api_request) == "token"


def test_without_a_mark_a_signed_in_user_is_a_session_and_no_request_is_nobody(rf, plain_user):
    request = rf.post("/x")
    request.user = AnonymousUser()
    assert auth_system(request) == "anonymous"
    request.user = plain_user
    assert auth_system(request) == "session"
    assert auth_system(None) == ""


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the file's package
                package = path.relative_to(APPS.parent).with_suffix("").parts[: -node.level]
                base = ".".join([*package, base] if base else package)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def test_no_service_module_imports_a_middleware_module():
    services = [p for p in APPS.rglob("*.py") if p.stem == "services" or "services" in p.parent.parts]
    assert services, "no service modules found"
    offenders = {
        str(p.relative_to(APPS.parent)): sorted(
            m for m in _imported_modules(p) if "middleware" in m.split(".")
        )
        for p in services
    }
    assert {path: modules for path, modules in offenders.items() if modules} == {}
