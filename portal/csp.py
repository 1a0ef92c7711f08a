"""Content Security Policy: no script that a user supplied ever runs in the portal's origin.

Two policies, chosen by what a response is:
- **Pages** (HTML rendered by our templates): scripts only from our own static files or an inline block
  carrying this request's nonce (``{{ request.csp_nonce }}``); nothing loads from another origin (ships and
  closed networks, and the API docs' Redoc would otherwise fetch a logo from a CDN). Inline *styles* stay
  allowed: Redoc injects its CSS at run time, and a style cannot run code.
- **Everything else** (XML, JSON, CSV, PDF, blobs, exports, OAI-PMH): ``default-src 'none'; sandbox``.
  EML accepts any XHTML in ``additionalMetadata``, and data files are whatever people upload; served
  inline as XML/SVG/HTML they would otherwise run as script on our origin. In a sandbox they cannot,
  and without scripts, frames or forms the document is inert.

A view that serves user-supplied bytes sets the sandbox itself (``storage.http.blob_response`` does),
so even an HTML data file declared ``text/html`` is sandboxed; this middleware never overrides a policy
a response already carries. Django 5.2 has no CSP of its own (6.0 adds one): this is the small subset we need.
"""

from __future__ import annotations

import secrets

SANDBOX = "default-src 'none'; sandbox"

PAGE_POLICY = (
    "default-src 'self'; "
    "script-src 'self' 'nonce-{nonce}'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:{tiles}; "
    "font-src 'self'; "
    "connect-src 'self'; "
    "worker-src 'self' blob:; "
    "object-src 'none'; "
    "base-uri 'none'; "
    "form-action 'self'; "
    "frame-ancestors 'none'"
)


def tile_origin() -> str:
    """The origin of ``MAP_TILE_URL`` (the maps' base tiles), allowed as an image source; "" without one."""
    from urllib.parse import urlsplit

    from django.conf import settings

    url = urlsplit(getattr(settings, "MAP_TILE_URL", "") or "")
    return f" {url.scheme}://{url.netloc}" if url.scheme in ("http", "https") and url.netloc else ""


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(16)
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            content_type = response.get("Content-Type", "")
            if content_type.startswith("text/html") and not response.streaming:
                response["Content-Security-Policy"] = PAGE_POLICY.format(
                    nonce=request.csp_nonce, tiles=tile_origin()
                )
            else:
                response["Content-Security-Policy"] = SANDBOX
        response.setdefault("X-Content-Type-Options", "nosniff")
        return response
