"""The ``.torrent`` of a public dataset version, by number, the latest one, or by infohash (smart nodes)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from apps.access import lookups as access
from apps.packages.models import Revision
from apps.storage import services as storage
from portal.errors import NotFound

from . import services, torrents


def _answer(revision: Revision) -> HttpResponse:
    torrent = services.public_torrent(revision)
    if torrent is None:
        if revision.state in Revision.TOMBSTONED:
            # As the tombstone says: a tainted version was "removed", nothing more.
            gone = "removed" if revision.state == Revision.State.TAINTED else "withdrawn"
            return HttpResponse(f"This version was {gone}: it has no torrent.\n", status=410,
                                content_type="text/plain; charset=utf-8")  # fmt: skip
        raise NotFound("This version has no public torrent (yet).")
    with storage.open_blob(torrent.blob) as fh:
        data = fh.read()  # a few kilobytes
    response = HttpResponse(data, content_type=torrents.MEDIA_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{services.name_of(revision)}.torrent"'
    response["ETag"] = f'"{torrent.infohash}"'
    return response


def version_torrent(request: HttpRequest, scope: str, identifier: int, number: int) -> HttpResponse:
    """The torrent of version ``number``: 404 while none is built or the version is held (even to those
    who may see its data: a torrent is public), 410 once it is withdrawn or tainted."""
    revision, _ = access.get_dataset_version_for_user(request.user, scope, identifier, number)
    return _answer(revision)


def torrent_by_infohash(request: HttpRequest, infohash: str) -> HttpResponse:
    """``/swarm/torrents/<infohash>.torrent``: what smart nodes fetch. The version's own torrent URL under
    another name: the same access rule and answers (404 unknown or held, 410 withdrawn or tainted)."""
    revision = services.revision_of_infohash(infohash)
    if revision is None:
        raise NotFound("No public torrent has this infohash.")
    p = revision.package
    revision, _ = access.get_dataset_version_for_user(request.user, p.scope, p.identifier, revision.number)
    return _answer(revision)


def latest_torrent(request: HttpRequest, scope: str, identifier: int) -> HttpResponse:
    """The torrent of the newest published version."""
    newest = (
        Revision.objects.filter(
            package__scope=scope, package__identifier=identifier, state=Revision.State.PUBLISHED
        )
        .select_related("package")
        .order_by("-number")
        .first()
    )
    if newest is None:
        raise NotFound("This dataset has no public version.")
    response = _answer(newest)
    response["Cache-Control"] = "no-cache"
    return response
