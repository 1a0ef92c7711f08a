"""The ``get_<noun>_for_user`` look-ups: the one place views and APIs fetch what a user asked for.

Metadata a user may not see is "not found" (404); data whose metadata is visible but which is held is
"forbidden" (403), so a held revision's landing page works while its data stays closed.

One rule for revisions on every path (``/packages/…``, PASTA ``/package/…``, ``/dataset/…`` and their
APIs): only *listed* revisions — archived or later — exist as packages and datasets. In-pipeline and
failed revisions are shown only on their submission's pages: they answer 404 for everyone, data managers
included.

Models are looked up by label (``apps.get_model``): every domain app's views import this module, so a
static import of their models here would close an import circle between apps.
"""

from __future__ import annotations

import functools

from django.apps import apps
from django.db.models import OuterRef, QuerySet, Subquery

from portal import sqlrows
from portal.errors import Forbidden, Gone, NotFound

from . import roles
from .people import (
    can_edit_cruise,
    eventlog_writer_params,
    eventlog_writer_sql,
    is_cruise_party,
    remember_eventlog_writer,
)
from .policy import can_see, visible_revisions

HELD_DATA = "The data of this revision are under a proprietary hold."


def _model(label: str):
    return apps.get_model(*label.split("."))


def listed_states() -> tuple[str, ...]:
    """Revision states that exist as packages: archived and everything after it."""
    Revision = _model("packages.Revision")
    return (Revision.State.ARCHIVED, *Revision.METADATA_PUBLIC)


def visible_qs(user) -> QuerySet:
    """Listed revisions whose metadata ``user`` may see."""
    Revision = _model("packages.Revision")
    listed = Revision.objects.filter(state__in=listed_states())
    return Revision.objects.filter(pk__in=visible_revisions(user, listed, "metadata").values("pk"))


def newest_revisions(user) -> QuerySet:
    """The newest revision of each package that ``user`` may see (the /packages/ list's default)."""
    visible = visible_qs(user)
    newest = visible.filter(package=OuterRef("package")).order_by("-number").values("number")[:1]
    return visible.filter(number=Subquery(newest)).select_related("package").order_by("-archived_at", "-pk")


def get_package_for_user(user, scope: str, identifier: int):
    """``(package, its visible revisions newest first)``; 404 when ``user`` sees none of them."""
    package = (
        _model("packages.Package")
        .objects.filter(scope=scope, identifier=identifier)
        .select_related("owner", "cruise")
        .first()
    )
    if package is None:
        raise NotFound("No such data package.")
    revisions = visible_qs(user).filter(package=package).order_by("-number")
    if not revisions.exists():
        raise NotFound("No such data package.")
    return package, revisions


def get_revision_for_user(user, scope: str, identifier: int, number: int, part: str = "metadata"):
    """One listed revision whose metadata ``user`` may see (404 otherwise); with ``part="data"`` its data
    must be visible too (403 otherwise)."""
    revision = (
        _model("packages.Revision")
        .objects.select_related("package", "package__owner", "package__cruise", "eml_blob")
        .filter(package__scope=scope, package__identifier=identifier, number=number)
        .first()
    )
    if revision is None or revision.state not in listed_states() or not can_see(user, revision, "metadata"):
        raise NotFound("No such revision.")
    if part == "data" and not can_see(user, revision, "data"):
        raise Forbidden(HELD_DATA)
    return revision


def get_dataset_version_for_user(
    user, scope: str, identifier: int, number: int | None = None, *, queryset: QuerySet | None = None
):
    """``(version, visible versions newest first)`` for a dataset's landing pages: the version ``number``
    or, with ``number`` None, the latest one. ``queryset`` (revisions) adds the relations a page reads.

    "Latest" prefers the newest published version; a dataset whose every version is withdrawn shows its
    newest tombstone, never a 404. The same revisions as ``get_revision_for_user`` exist here."""
    Revision = _model("packages.Revision")
    package = _model("packages.Package").objects.filter(scope=scope, identifier=identifier).first()
    if package is None:
        raise NotFound("No such dataset.")
    versions = list(visible_qs(user).filter(package=package).select_related("package").order_by("-number"))
    if number is None:
        chosen = next((v for v in versions if v.state == Revision.State.PUBLISHED), None) or (
            versions[0] if versions else None
        )
    else:
        chosen = next((v for v in versions if v.number == number), None)
    if chosen is None:
        raise NotFound("No such dataset version, or it is not public.")
    revision = (Revision.objects if queryset is None else queryset).get(pk=chosen.pk)
    return revision, versions


def get_entity_for_user(user, revision, entity_id: str):
    entity = revision.entities.select_related("blob").filter(entity_id=entity_id).first()
    if entity is None or entity.blob is None:
        raise NotFound("No such data entity.")
    if entity.blob.removed_at:  # a tainted version's file, removed from storage: 410 for all
        raise Gone("This file was removed.")
    if not can_see(user, entity, "data"):
        raise Forbidden(HELD_DATA)
    return entity


def get_artifact_for_user(user, scope: str, identifier: int, number: int, artifact_id: int):
    """A derived artifact of a version (a Parquet alternate, a manifest): 404 when the version's metadata
    is not visible or it has no such artifact, 410 when its bytes were removed (tainted), 403 when its data
    is not visible (held, withdrawn)."""
    revision = get_revision_for_user(user, scope, identifier, number)
    artifact = (
        _model("artifacts.Artifact")
        .objects.select_related("blob", "revision")
        .filter(revision=revision, pk=artifact_id)
        .first()
    )
    if artifact is None:
        raise NotFound("No such file in this version.")
    if artifact.blob.removed_at:  # a tainted version's derived file, removed from storage: 410 for all
        raise Gone("This file was removed.")
    if not can_see(user, artifact, "data"):
        raise Forbidden(HELD_DATA)
    return artifact


def get_resource(revision, rtype: str):
    """A revision's resource of type ``rtype`` (access to the revision was decided by the caller)."""
    resource = revision.resources.select_related("blob").filter(resource_type=rtype).first()
    if resource is None or resource.blob is None:
        raise NotFound(f"This revision has no {rtype} resource.")
    return resource


def get_cruise_for_user(
    user, pk: int, *, write: bool = False, joined: bool = True, eventlog_writer: bool = False
):
    """A cruise for a page. Cruise records are public; ``write`` needs the edit right.

    The vessel, operator and ports come in the same query (a page shows them); ``joined=False`` reads
    the cruise row alone, for a caller that needs only its own columns (the event-log API: a join of
    four tables costs more than the rest of that request's look-ups together). ``eventlog_writer`` (with
    ``joined=False``) answers ``can_write_eventlog`` for ``user`` in the same statement and keeps the answer
    on the cruise, for the service that checks it next (the event-log POST: one statement fewer)."""
    Cruise = _model("cruises.Cruise")
    if eventlog_writer and not joined and getattr(user, "is_authenticated", False):
        cruise = _cruise_with_eventlog_writer(Cruise, user, pk)
        if cruise is None:
            raise NotFound("No such cruise.")
    elif joined:
        qs = Cruise.objects.select_related("vessel", "operator", "departure_port", "arrival_port")
        try:
            cruise = qs.get(pk=pk)
        except Cruise.DoesNotExist:
            raise NotFound("No such cruise.") from None
    else:  # the event-log POST's look-up: SQL written once (portal.sqlrows), no query to build
        cruise = sqlrows.get(Cruise, pk)
        if cruise is None:
            raise NotFound("No such cruise.")
    if write and not can_edit_cruise(user, cruise):
        if cruise.is_locked:
            raise Forbidden("This cruise record is approved and locked; a data manager can reopen it.")
        raise Forbidden("Only the vessel's operator may edit this cruise record.")
    return cruise


def _cruise_with_eventlog_writer(Cruise, user, pk: int):
    from django.db import connection

    with sqlrows.cursor() as cursor:
        cursor.execute(_cruise_writer_sql(connection.vendor), [*eventlog_writer_params(user), pk])
        row = cursor.fetchone()
    if row is None:
        return None
    cruise = sqlrows.from_row(Cruise, row)
    remember_eventlog_writer(cruise, user, row[-1])
    return cruise


@functools.cache
def _cruise_writer_sql(vendor: str) -> str:
    Cruise = _model("cruises.Cruise")
    from django.db import connection

    table = connection.ops.quote_name(Cruise._meta.db_table)
    return (
        f"SELECT {sqlrows.columns(Cruise, 'c')}, {eventlog_writer_sql(vendor)} FROM {table} c "
        f"WHERE c.{connection.ops.quote_name(Cruise._meta.pk.column)} = %s"
    )


def get_delivery_for_user(user, pk: int):
    """A cruise's delivery (shipment) for a page: public like its cruise (its checksums may not be:
    ``can_see(user, delivery, "checksums")``)."""
    delivery = (
        _model("deliveries.Delivery")
        .objects.select_related("cruise__vessel", "cruise__operator", "created_by")
        .filter(pk=pk)
        .first()
    )
    if delivery is None:
        raise NotFound("No such delivery.")
    return delivery


def visible_submissions(user, qs: QuerySet | None = None) -> QuerySet:
    """Submissions are private: the submitter's own, and every one for data managers."""
    qs = _model("submissions.Submission").objects.all() if qs is None else qs
    return qs if roles.is_data_manager(user) else qs.filter(user_id=getattr(user, "pk", None))


def get_submission_for_user(user, transaction: str):
    """A submission by its transaction id; 404 for anyone but its submitter and data managers."""
    qs = _model("submissions.Submission").objects.select_related("revision", "revision__package", "user")
    sub = visible_submissions(user, qs).filter(transaction=transaction).first()
    if sub is None:
        raise NotFound("No such submission.")
    return sub


def get_review_for_user(user, pk: int):
    """A review, for its reviewers, the people of its target and data managers (403 for others).

    A cruise's reviewers (its operator and chief scientist) are among the cruise's people, so the
    cruise's people rule answers for them too."""
    review = _model("reviews.Review").objects.filter(pk=pk).first()
    if review is None:
        raise NotFound("No such review.")
    target = review.target
    if target._meta.label_lower != "cruises.cruise":
        raise TypeError(f"get_review_for_user does not know {type(target).__name__}")
    if not is_cruise_party(user, target):
        raise Forbidden("Only the reviewers and the cruise's people may open this review.")
    return review


def get_eventlog_for_user(user, cruise_pk: int):
    """``(cruise, its event log)``: 404 without a log, 403 while it is open and ``user`` is not one of the
    cruise's people (a closed log is public)."""
    cruise = get_cruise_for_user(user, cruise_pk)
    log = _model("eventlogs.EventLog").objects.filter(cruise=cruise).first()
    if log is None:
        raise NotFound("This cruise has no event log yet.")
    if not can_see(user, log):
        raise Forbidden("The event log is readable by the cruise's people until it is closed.")
    return cruise, log


def get_cruise_file_for_user(user, cruise_pk: int, file_pk: int, filename: str):
    """A file attached to a cruise, by its cruise, id and name (404); 403 for a file only the cruise's
    people may read (received sailing orders carry e-mail addresses)."""
    f = (
        _model("cruises.CruiseFile")
        .objects.select_related("blob", "cruise")
        .filter(pk=file_pk, cruise_id=cruise_pk, filename=filename)
        .first()
    )
    if f is None:
        raise NotFound("No such file.")
    if not can_see(user, f):
        raise Forbidden("This file is only for the cruise's people.")
    return f


def get_upload_for_user(user, pk):
    """A resumable upload (apps.uploads): only the person who started it sees it, data managers included
    (404 for anyone else: an upload's id says nothing to someone else)."""
    import uuid

    Upload = _model("uploads.Upload")
    try:
        key = uuid.UUID(str(pk))
    except ValueError:
        raise NotFound("No such upload.") from None
    upload = Upload.objects.filter(pk=key).first()
    if upload is None or not getattr(user, "is_authenticated", False) or upload.user_id != user.pk:
        raise NotFound("No such upload.")
    return upload


def get_track_for_user(user, cruise_pk: int):
    """``(cruise, its navigation track)``: 404 without a built track. The certificate and the track
    products follow the cruise record's visibility (``can_see(user, cruise, "metadata")``)."""
    cruise = get_cruise_for_user(user, cruise_pk)
    if not can_see(user, cruise, "metadata"):
        raise NotFound("No such cruise.")
    track = _model("navigation.Track").objects.filter(cruise=cruise, state="done").first()
    if track is None:
        raise NotFound("This cruise has no navigation certificate yet.")
    return cruise, track


def get_track_product_for_user(user, cruise_pk: int, name: str):
    """One product file of a cruise's track, by name (404 when there is none)."""
    cruise, track = get_track_for_user(user, cruise_pk)
    product = track.products.select_related("blob").filter(name=name).first()
    if product is None:
        raise NotFound("No such navigation product.")
    return product


def get_track_manifest_for_user(user, cruise_pk: int, path: str):
    """The build manifest of one of a cruise's navigation products, by its path under ``manifests/``
    (``products/<name>.json``): 404 like the track, or when there is none; 403 while a hold is in force
    for anyone but the cruise's people (``can_see(user, artifact)``: a manifest names the SHA-256 of the
    delivery's files — its checksums, which the hold keeps theirs)."""
    cruise, _track = get_track_for_user(user, cruise_pk)
    artifact = (
        _model("artifacts.Artifact")
        .objects.select_related("blob", "cruise")
        .filter(cruise=cruise, revision=None, kind="manifest", path=f"manifests/{path}")
        .first()
    )
    if artifact is None:
        raise NotFound("No such build manifest.")
    if not can_see(user, artifact):
        raise Forbidden("The build manifests name the delivery's checksums, which the hold keeps closed.")
    return artifact


def get_catalog_manifest_for_user(user, path: str):
    """The build manifest of the catalog (``stac.parquet.json`` under ``/catalog/manifests/``): public, as
    the catalog is; 404 before the first build. Only the catalog's: a release's manifest is not served."""
    artifact = (
        _model("artifacts.Artifact")
        .objects.select_related("blob")
        .filter(
            revision=None,
            cruise=None,
            kind="manifest",
            path=f"manifests/{path}",
            described__kind="catalog",
        )
        .first()
    )
    if artifact is None or not can_see(user, artifact):
        raise NotFound("No such build manifest.")
    return artifact


def get_remote_record_for_user(user, pk: int):
    """A harvested record: public metadata from another repository (deleted ones show as deleted)."""
    record = _model("federation.RemoteRecord").objects.select_related("source").filter(pk=pk).first()
    if record is None:
        raise NotFound("No such remote record.")
    return record


def visible_tracks(user) -> QuerySet:
    """The built navigation tracks ``user`` may see: a track follows its cruise record's visibility
    (``can_see(user, cruise, "metadata")``; cruise records are public, as in R2R's catalogue), so every
    built track with a geometry. Lists (OGC API – Features, the map) filter through this."""
    return _model("navigation.Track").objects.filter(state="done", control__isnull=False)


def get_share_for_user(user, short_id: str, *, write: bool = False):
    """A quick share by its short id. Reading: anyone once a version is listed (the sharer and data
    managers before that); 404 otherwise. Writing (edit metadata, new version): the sharer and data
    managers, 403 for others who can see it."""
    from .people import can_edit_share

    Share = _model("shares.Share")
    # Crockford's reading rules, as ``shares.models.normalise_short_id`` (not imported: that app imports this).
    normalised = short_id.upper().replace("-", "").translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
    share = Share.objects.select_related("package", "sharer").filter(short_id=normalised).first()
    if share is None:
        raise NotFound("No such share.")
    editor = can_edit_share(user, share)
    if not editor and not share.package.revisions.filter(state__in=listed_states()).exists():
        raise NotFound("No such share.")
    if write and not editor:
        raise Forbidden("Only the sharer (or a data manager) may change this share.")
    return share


def visible_nodes(user) -> QuerySet:
    """The nodes ``/nodes/mine/`` lists: a data manager's every node, a node operator's own, else none."""
    Node = _model("nodes.Node")
    if roles.is_data_manager(user):
        return Node.objects.all()
    if roles.is_node_operator(user):
        return Node.objects.filter(operator=user)
    return Node.objects.none()


def get_node_for_user(user, pk: int, *, write: bool = False):
    """A node for its management page: 404 unless listed for ``user``; ``write`` (revoking): 403 unless
    ``can_revoke_node``. Locks the row when writing (call inside a transaction)."""
    from .people import require_node_revoker

    qs = visible_nodes(user).select_related("operator")
    if write:
        qs = qs.select_for_update(of=("self",))
    node = qs.filter(pk=pk).first()
    if node is None:
        raise NotFound("No such node.")
    if write:
        require_node_revoker(user, node)
    return node
