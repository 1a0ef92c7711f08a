"""Downloading a derived artifact of a dataset version (a Parquet alternate, a build manifest)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from apps import access
from apps.storage.http import blob_response


def download(
    request: HttpRequest, scope: str, identifier: int, number: int, artifact_id: int
) -> HttpResponse:
    """The artifact's bytes, with Range, under the access rule of the version's data (held, withdrawn
    and tainted versions' artifacts never leak through here)."""
    artifact = access.get_artifact_for_user(request.user, scope, identifier, number, artifact_id)
    return blob_response(request, artifact.blob, filename=artifact.filename, content_type=artifact.media_type)
