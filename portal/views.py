import time

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from apps.storage import services as storage


def home(request):
    return render(request, "home.html", {"sections": _home_sections()})


@login_required
def me(request):
    """The personal dashboard: what waits for this person, by role (``portal.dashboard``)."""
    from . import dashboard

    return render(request, "dashboard.html", {"panels": dashboard.panels_for(request.user)})


def _home_sections() -> list[dict]:
    """Small counts for the front page; each app that exists contributes."""
    from django.apps import apps

    sections = []
    for label, model, title, url in (
        ("packages", "Package", "Data packages", "/packages/"),
        ("cruises", "Cruise", "Cruises", "/cruises/"),
        ("cruises", "Vessel", "Vessels", "/cruises/vessels/"),
    ):
        try:
            count = apps.get_model(label, model).objects.count()
        except LookupError:
            continue
        sections.append({"title": title, "count": count, "url": url})
    return sections


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        check()
        return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    except Exception as exc:  # a health check reports, it does not raise
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_broker() -> None:
    from portal.celery import app

    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        from pathlib import Path

        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        if not folder.is_dir():
            raise OSError(f"queue folder {folder} missing")
        return
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


@never_cache
def healthz(request):
    checks = {
        "database": _timed(_check_database),
        "broker": _timed(_check_broker),
        "storage": _timed(storage.check_available),
    }
    failing = [name for name, c in checks.items() if not c["ok"]]
    body = {"status": "unavailable" if failing else "ok", "checks": checks}
    if failing:
        body["message"] = "; ".join(f"{name} is unavailable: {checks[name]['error']}" for name in failing)
    if checks["database"]["ok"]:
        # A queue that is behind is reported, not failed: the web still serves (200), operators look.
        body["queue"] = queue = _queue_lag()
        if queue["behind"] and not failing:
            body["status"] = "behind"
            body["message"] = (
                f"the pipeline queue is behind: {queue['due']} steps due, the oldest for "
                f"{queue['oldest_due_seconds']:.0f} s (are the worker and beat running?)"
            )
    return JsonResponse(body, status=503 if failing else 200)


def _queue_lag() -> dict:
    from apps.submissions.services import queue_lag

    return queue_lag()


def error_403(request, exception=None):
    message = str(exception) if exception and str(exception) else "You do not have access to this page."
    return render(
        request, "error.html", {"status": 403, "title": "Not allowed", "message": message}, status=403
    )


def error_404(request, exception=None):
    return render(
        request,
        "error.html",
        {"status": 404, "title": "Not found", "message": "There is nothing at this address."},
        status=404,
    )


def error_500(request):
    return render(
        request,
        "error.html",
        {
            "status": 500,
            "title": "Something went wrong",
            "message": "The error has been logged. Please try again later.",
        },
        status=500,
    )
