"""Request-size limits and storage outages, answered as clear errors."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render

from apps.storage.services import StorageUnavailable


class UploadTooLarge(Exception):
    pass


def _wants_json(request) -> bool:
    return request.path_info.startswith(("/api/", "/package/", "/oai")) or "application/json" in request.headers.get("Accept", "")


def error_response(request, status: int, title: str, message: str):
    if _wants_json(request):
        return JsonResponse({"error": title, "detail": message, "status": status}, status=status)
    return render(request, "error.html", {"status": status, "title": title, "message": message}, status=status)


class RequestLimitsMiddleware:
    """Refuse a request body over MAX_UPLOAD_SIZE with 413 before reading it; map storage outages
    to 503 (the service raised inside its transaction, so nothing was half-written)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_UPLOAD_SIZE:
            return error_response(
                request, 413, "Request too large",
                f"This request is {length:,} bytes; the largest accepted is {settings.MAX_UPLOAD_SIZE:,} bytes.",
            )
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, UploadTooLarge):
            return error_response(request, 413, "Upload too large", str(exception))
        if isinstance(exception, StorageUnavailable):
            return error_response(
                request, 503, "Storage unavailable",
                "Object storage cannot be reached right now; nothing was saved. Please try again in a few minutes.",
            )
        return None
