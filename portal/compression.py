"""Compressed pages for slow ship links, never compressed data.

Django's GZipMiddleware (4.2+) pads every compressed body with random bytes, Heal-the-BREACH style, so a
secret on a page (the CSRF token) cannot be recovered from compressed sizes: that is why pages are gzipped
here rather than in nginx (nginx's gzip has no such mitigation). Blobs are left alone: they carry
Range/Content-Length for web seeds and resumable downloads, and research data is mostly compressed already.
"""

from __future__ import annotations

from django.middleware.gzip import GZipMiddleware

COMPRESSIBLE = (
    "text/",
    "application/json",
    "application/xml",
    "application/ld+json",
    "application/geo+json",
    "application/vnd.oai.openapi",
    "application/vnd.datacite",
)


class PageGZipMiddleware(GZipMiddleware):
    def process_response(self, request, response):
        if response.has_header("Accept-Ranges") or response.status_code == 206:
            return response  # a blob (storage.http.blob_response): bytes as stored, Range intact
        if not response.get("Content-Type", "").startswith(COMPRESSIBLE):
            return response
        return super().process_response(request, response)
