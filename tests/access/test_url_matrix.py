"""The access matrix: every named URL of the portal, the status each role gets from it.

``test_every_named_url_has_a_row`` walks the whole URL conf: a new named URL without a row here fails
the suite, so no URL ships without an access test. ``test_url_matrix`` then requests every row as every
role (see ``conftest.ROLES``: "operator"/"chief"/"staff" hold their role on cruise A, the objects' cruise;
"operator_other"/"chief_other" on cruise B; "vetted" submitted and owns the packages) and compares
status codes. Web rows sign in with a session; API rows (``api=True``) with a personal API token.

Each request runs inside a savepoint that is rolled back, so a write that succeeds (a hold lifted, a log
closed) does not change what the next row sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.conftest import api_client_for

from .conftest import ROLES, World

pytestmark = pytest.mark.django_db

SIGNED_IN = [r for r in ROLES if r != "anonymous"]
THIS_CRUISE = ["operator", "chief", "staff", "data_manager"]  # cruise A's people
HELD_DATA = ["vetted", "operator", "chief", "staff", "data_manager"]  # owner + cruise A's people
OPERATORS = ["operator", "operator_other", "data_manager"]  # may create cruise records

Status = int | frozenset[int]


def table(anonymous: Status, others: Status, **overrides: Status) -> dict[str, Status]:
    """``anonymous``'s status, ``others`` for every signed-in role, then per-role exceptions."""
    return {"anonymous": anonymous, **dict.fromkeys(SIGNED_IN, others), **overrides}


def only(roles: list[str], allowed: Status, refused: Status, anonymous: Status) -> dict[str, Status]:
    return table(anonymous, refused, **dict.fromkeys(roles, allowed))


def either(*codes: int) -> frozenset[int]:
    return frozenset(codes)


EVERYONE = table(200, 200)
PAGE_FOR_SIGNED_IN = table(302, 200)  # 302: to the sign-in page
DM_PAGE = table(302, 403, data_manager=200)
DM_API = table(401, 403, data_manager=200)


@dataclass
class Row:
    expected: dict[str, Status]
    kwargs: Callable[[World], dict] = lambda w: {}
    method: str = "get"
    api: bool = False
    data: dict = field(default_factory=dict)
    query: str = ""


def cruise_a(w: World) -> dict:
    return {"pk": w.cruise.pk}


def log_a(w: World) -> dict:
    return {"cruise_pk": w.cruise.pk}


def rev(w: World) -> dict:
    return {"scope": "edi", "identifier": 1, "number": 1}


def pasta_rev(w: World) -> dict:
    return {"scope": "edi", "identifier": 1, "revision": 1}


def held_artifact(w: World) -> dict:
    """An artifact of the held version (none is ever built for it: this one stands for a leak to refuse)."""
    from apps.artifacts.models import Artifact

    artifact, _ = Artifact.objects.get_or_create(
        revision=w.held,
        path="parquet/ctd.parquet",
        defaults={"kind": "parquet", "blob": w.held_entity.blob, "entity": w.held_entity},
    )
    return {"scope": "edi", "identifier": 2, "number": 1, "artifact_id": artifact.pk}


def pkg(w: World) -> dict:
    return {"scope": "edi", "identifier": 1}


def txn(w: World) -> dict:
    return {"transaction": w.submission.transaction}


def submitter_request(w: World) -> dict:
    """A pending request to become a submitter, by the plain user (made once per test)."""
    from apps.accounts.models import SubmitterRequest

    asked, _ = SubmitterRequest.objects.get_or_create(user=w.users["plain"], defaults={"reason": "matrix"})
    return {"pk": asked.pk}


def upload_of_vetted(w: World) -> dict:
    """A resumable upload the vetted submitter started (made once per test)."""
    import datetime

    from django.utils import timezone

    from apps.uploads.models import Upload

    upload, _ = Upload.objects.get_or_create(
        user=w.users["vetted"],
        filename="matrix.csv",
        defaults={"length": 3, "expires_at": timezone.now() + datetime.timedelta(hours=1)},
    )
    return {"pk": upload.pk}


def track_a(w: World) -> dict:
    """Cruise A's navigation certificate and one product (made once per test)."""
    from apps.navigation.models import Track, TrackProduct
    from apps.navigation.services import NS
    from apps.storage.services import store_bytes

    xml = f'<qareport xmlns="{NS}"><filesetinfo><fileset><file sha256="{"0" * 64}">a.nmea</file>'
    track, _ = Track.objects.get_or_create(
        cruise=w.cruise,
        defaults={
            "state": "done",
            "overall": "green",
            "certificate": {"fixes": 0},
            "certificate_xml": store_bytes((xml + "</fileset></filesetinfo></qareport>").encode()),
        },
    )
    TrackProduct.objects.get_or_create(track=track, name="A_control.csv", defaults={"blob": w.blob})
    return {"cruise_pk": w.cruise.pk}


def track_manifest_a(w: World) -> dict:
    """The build manifest of cruise A's control-point product (cruise A is held: it names the delivery's
    checksums, so it is the cruise's people's)."""
    from apps.artifacts.models import Artifact

    Artifact.objects.get_or_create(
        cruise=w.cruise,
        revision=None,
        path="manifests/products/A_control.csv.json",
        defaults={"kind": "manifest", "blob": w.blob, "media_type": "application/json"},
    )
    return {**track_a(w), "path": "products/A_control.csv.json"}


def delivery_a(w: World) -> dict:
    """An inventoried shipment of cruise A (held: its checksums are the cruise's people's), made once."""
    from apps.deliveries.models import Delivery, InventoryFile

    delivery, made = Delivery.objects.get_or_create(
        cruise=w.cruise, shipment="matrix", defaults={"method": "folder", "state": "inventoried"}
    )
    if made:
        InventoryFile.objects.create(
            delivery=delivery, path="ctd/cast.hex", size=3, md5="0" * 32, status="hashed"
        )
    return {"pk": delivery.pk}


def flag_a(w: World) -> dict:
    from apps.deliveries.models import Delivery, Flag

    delivery = Delivery.objects.get(pk=delivery_a(w)["pk"])
    flag, _ = Flag.objects.get_or_create(delivery=delivery, kind="folder", target="adcp", comment="missing")
    return {"pk": flag.pk}


def distribution(w: World):
    """Cruise A's delivery with one inventoried file, the vessel's profile, a dataset packaged as edi.1 and
    a restore request by the chief scientist (made once per test; issue 12)."""
    from types import SimpleNamespace

    from apps.deliveries.models import Delivery, InventoryFile
    from apps.distributions.models import Dataset, Profile, RestoreRequest

    delivery, _ = Delivery.objects.get_or_create(
        cruise=w.cruise,
        shipment="M1",
        defaults={"method": "folder", "source": "/nonexistent", "state": "inventoried"},
    )
    InventoryFile.objects.get_or_create(
        delivery=delivery, path="nav/a.gps", defaults={"size": 1, "sha256": "a" * 64}
    )
    profile, _ = Profile.objects.get_or_create(
        vessel=w.cruise.vessel, defaults={"name": "Matrix", "operator": w.cruise.operator}
    )
    dataset, _ = Dataset.objects.get_or_create(
        delivery=delivery, instrument_class="navigation", defaults={"package": w.published.package}
    )
    restore, _ = RestoreRequest.objects.get_or_create(
        delivery=delivery, scope="delivery", defaults={"requested_by": w.users["chief"]}
    )
    return SimpleNamespace(delivery=delivery, profile=profile, dataset=dataset, restore=restore)


RESTORERS = ["operator", "chief", "data_manager"]


def named_file(revision) -> dict:
    from apps.publishing.files import version_files

    p = revision.package
    tree = f"{p.scope}.{p.identifier}.{revision.number}"
    path = version_files(revision)[0].path
    return {
        "scope": p.scope,
        "identifier": p.identifier,
        "number": revision.number,
        "tree": tree,
        "path": path,
    }


def built_catalog(w: World) -> dict:
    """stac.parquet is built by the worker; build it once so the row reads the served file."""
    from apps.catalog.services import refresh

    refresh(force=True)
    return {}


def written_health(w: World) -> dict:
    """health.parquet is written by a beat task; write it once so the row reads the served file."""
    from apps.nodes.health import write_health

    write_health()
    return {}


def node_of_operator(w: World) -> dict:
    """A node of the "node" role's operator (made once per test)."""
    from apps.nodes.models import Node

    node = Node.objects.filter(operator=w.users["node"]).first() or Node.issue(w.users["node"], "matrix")[0]
    return {"pk": node.pk}


def a_mirror(w: World) -> dict:
    from apps.catalog.models import Mirror

    mirror, _ = Mirror.objects.get_or_create(
        revision=w.published, kind="http", base_url="https://mirror.invalid/edi.1.1/"
    )
    return {"pk": mirror.pk}


def harvest_source(w: World) -> dict:
    from apps.federation.models import HarvestSource

    source, _ = HarvestSource.objects.get_or_create(
        base_url="https://oai.example.org/oai", metadata_prefix="oai_dc"
    )
    return {"pk": source.pk}


def remote_record(w: World) -> dict:
    from apps.federation.models import RemoteRecord

    record, _ = RemoteRecord.objects.get_or_create(
        source_id=harvest_source(w)["pk"],
        identifier="oai:example.org:1",
        defaults={"datestamp": "2025-01-01", "title": "R"},
    )
    return {"pk": record.pk}


def track_feature_a(w: World) -> dict:
    """Cruise A's track with a trackline: the OGC API's feature (made once per test)."""
    from apps.navigation.models import Track

    track_a(w)
    Track.objects.filter(cruise=w.cruise).update(
        control={"type": "LineString", "coordinates": [[-120.0, 30.0], [-121.0, 31.0]]},
        west=-121.0,
        south=30.0,
        east=-120.0,
        north=31.0,
    )
    return {"collection_id": "tracks", "fid": str(w.cruise.pk)}


def held_footprint(w: World) -> dict:
    """The held version with a box: its footprint is its data's, listed for its people only."""
    from apps.search.services import index_revision

    w.held.coverage = {"bbox": [-10.0, 10.0, 0.0, 20.0]}
    w.held.save(update_fields=["coverage"])
    index_revision(w.held)
    return {"collection_id": "footprints", "fid": str(w.held.pk)}


def share_of_vetted(w: World) -> dict:
    """edi.1 as the vetted user's quick share (made once per test)."""
    from apps.shares.models import Share

    share, _ = Share.objects.get_or_create(
        package=w.published.package, defaults={"sharer": w.users["vetted"]}
    )
    return {"short_id": share.short_id}


def share_draft_of_vetted(w: World) -> dict:
    """A quick-share draft of the vetted user, not yet submitted (made once per test)."""
    from apps.shares.models import Draft

    draft, _ = Draft.objects.get_or_create(
        sharer=w.users["vetted"], title="matrix", defaults={"licence": "CC-BY-4.0", "files": []}
    )
    return {"pk": draft.pk}


MATRIX: dict[str, list[Row]] = {
    # --- the portal ---------------------------------------------------------------------------------
    "home": [Row(EVERYONE)],
    "healthz": [Row(EVERYONE)],
    "robots": [Row(EVERYONE)],
    "api-schema": [Row(EVERYONE)],
    "api-docs": [Row(EVERYONE)],
    # --- accounts and tokens ------------------------------------------------------------------------
    "accounts:profile": [Row(PAGE_FOR_SIGNED_IN)],
    "accounts:token-create": [Row(table(302, 302), method="post", data={"name": "matrix"})],
    # Somebody else's token: never found, whoever asks.
    "accounts:token-revoke": [Row(table(302, 404), lambda w: {"token_id": w.token.pk}, method="post")],
    "api-me": [Row(table(401, 200), api=True), Row(table(401, 200), api=True, method="patch")],
    "api-tokens": [
        Row(table(401, 200), api=True),
        Row(table(401, 201), api=True, method="post", data={"name": "matrix"}),
    ],
    "api-token-revoke": [Row(table(401, 404), lambda w: {"token_id": w.token.pk}, api=True, method="post")],
    # Asking to become a submitter: anyone signed in sees the page; sending an empty request is a 400 for
    # those who may ask, a 403 for those who submit already.
    "accounts:submitter-request": [
        Row(PAGE_FOR_SIGNED_IN),
        Row(table(302, 400, vetted=403, data_manager=403), method="post"),
    ],
    "accounts:submitter-requests": [Row(DM_PAGE)],
    # A decision without "approve" or "decline": the data manager is told to choose.
    "accounts:submitter-request-decide": [
        Row(DM_PAGE | {"data_manager": 400}, submitter_request, method="post")
    ],
    # --- the personal dashboard ---------------------------------------------------------------------
    "me": [Row(PAGE_FOR_SIGNED_IN)],
    # --- curators' pages ----------------------------------------------------------------------------
    "audit:list": [Row(DM_PAGE)],
    "api-audit-list": [Row(DM_API, api=True)],
    "storage:upload": [Row(DM_PAGE)],
    "storage:blob": [Row(DM_PAGE, lambda w: {"sha256": w.blob.sha256})],
    # --- cruises ------------------------------------------------------------------------------------
    "cruises:list": [Row(EVERYONE)],
    "cruises:vessels": [Row(EVERYONE)],
    "cruises:schema": [Row(EVERYONE)],
    "cruises:example": [Row(EVERYONE)],  # the example document: public like the schema
    "cruises:detail": [Row(EVERYONE, cruise_a)],
    "cruises:xml": [Row(EVERYONE, cruise_a)],
    "cruises:report": [Row(EVERYONE, cruise_a)],
    # 503 where the server lacks Pango (the PDF is optional; the rule is the HTML report's).
    "cruises:report_pdf": [Row(table(either(200, 503), either(200, 503)), cruise_a)],
    "cruises:create": [Row(only(OPERATORS, 200, 403, 302))],
    "cruises:import": [Row(only(OPERATORS, 200, 403, 302))],
    # Cruise B is not approved yet: its operator (and a data manager) edit it; cruise A's operator may not.
    "cruises:edit": [
        Row(only(["operator_other", "data_manager"], 200, 403, 302), lambda w: {"pk": w.other_cruise.pk})
    ],
    "cruises:designate": [Row(only(["operator", "chief"], 200, 403, 302), cruise_a)],
    "cruises:link-package": [Row(DM_PAGE, cruise_a)],
    "cruises:accept-invitation": [Row(PAGE_FOR_SIGNED_IN, lambda w: {"token": w.invitation})],
    # Received sailing orders carry e-mail addresses: the cruise's people only.
    "cruises:file": [
        Row(
            only(THIS_CRUISE, 200, 403, 403),
            lambda w: {"pk": w.cruise.pk, "file_pk": w.orders.pk, "filename": w.orders.filename},
        )
    ],
    "api-cruises": [Row(EVERYONE, api=True)],
    "api-cruise": [Row(EVERYONE, cruise_a, api=True)],
    "api-cruise-xml": [Row(EVERYONE, cruise_a, api=True)],
    # --- event logs (cruise A's log is open: private to the cruise's people) -----------------------
    "eventlogs:log": [Row(only(THIS_CRUISE, 200, 403, 403), log_a)],
    "eventlogs:open": [Row(only(["operator", "chief"], 302, 403, 302), log_a, method="post")],
    "eventlogs:close": [Row(only(["operator", "chief"], 302, 403, 302), log_a, method="post")],
    # The ship's position for the log's writers; 404 for them here: no navigation feed is configured.
    "eventlogs:position": [Row(only(["operator", "chief", "staff"], 404, 403, 403), log_a)],
    "api-eventlog-entries": [
        Row(only(THIS_CRUISE, 200, 403, 403), log_a, api=True),
        # Writers are the shipboard staff, the chief scientist and the operator (not data managers); an
        # empty entry is refused for what it lacks (400) once the writer is let in.
        Row(only(["operator", "chief", "staff"], 400, 403, 401), log_a, api=True, method="post"),
    ],
    # --- navigation: the certificate and track products follow the cruise record (public); a cruise
    # without a built track answers 404 --------------------------------------------------------------
    "navigation:certificate": [
        Row(EVERYONE, track_a),
        Row(table(404, 404), lambda w: {"cruise_pk": w.other_cruise.pk}),
    ],
    "navigation:certificate-xml": [Row(EVERYONE, track_a)],
    "navigation:certificate-json": [Row(EVERYONE, track_a)],
    "navigation:product": [
        Row(EVERYONE, lambda w: {**track_a(w), "name": "A_control.csv"}),
        Row(table(404, 404), lambda w: {**track_a(w), "name": "B_control.csv"}),
    ],
    # A product's build manifest names the delivery's checksums: under cruise A's hold, its people's.
    "navigation:manifest": [
        Row(only(THIS_CRUISE, 200, 403, 403), track_manifest_a),
        Row(table(404, 404), lambda w: {**track_a(w), "path": "products/B_control.csv.json"}),
    ],
    # --- OGC API – Features: public JSON; a track follows its cruise record (public), a footprint its
    # dataset's data (the held version's only for its people); unknown things are 404 ------------------
    "ogcapi:landing": [Row(EVERYONE)],
    "ogcapi:conformance": [Row(EVERYONE)],
    "ogcapi:openapi": [Row(EVERYONE)],
    "ogcapi:collections": [Row(EVERYONE)],
    "ogcapi:collection": [
        Row(EVERYONE, lambda w: {"collection_id": "tracks"}),
        Row(table(404, 404), lambda w: {"collection_id": "nope"}),
    ],
    "ogcapi:items": [
        Row(EVERYONE, lambda w: {"collection_id": "footprints"}),
        Row(table(400, 400), lambda w: {"collection_id": "tracks"}, query="?bbox=1,2,3"),
    ],
    "ogcapi:item": [
        Row(EVERYONE, track_feature_a),
        Row(only(HELD_DATA, 200, 404, 404), held_footprint),
    ],
    # --- gazetteer: the question is public; loading regions is the data managers' ----------------------
    "gazetteer:regions": [Row(EVERYONE)],
    "gazetteer:upload": [Row(table(302, 403, data_manager=400), method="post")],
    # --- reviews (cruise A's review, approved) --------------------------------------------------------
    "reviews:inbox": [Row(PAGE_FOR_SIGNED_IN)],
    "reviews:detail": [Row(only(THIS_CRUISE, 200, 403, 302), lambda w: {"pk": w.review.pk})],
    "reviews:amend": [
        Row(
            only(["operator", "chief", "data_manager"], 400, 403, 302),
            lambda w: {"pk": w.review.pk},
            method="post",
        )
    ],
    # An empty decision is a UserError (400) for a reviewer; the others may not decide at all.
    "reviews:decide": [
        Row(
            only(["operator", "chief", "data_manager"], 400, 403, 302),
            lambda w: {"pk": w.review.pk},
            method="post",
        )
    ],
    "reviews:reopen": [
        Row(only(["data_manager"], 302, 403, 302), lambda w: {"pk": w.review.pk}, method="post")
    ],
    # The cruise already has a review: a reviewer is told so (400); the others may not ask.
    "reviews:request-cruise": [
        Row(
            only(["operator", "chief", "data_manager"], 400, 403, 302),
            lambda w: {"cruise_pk": w.cruise.pk},
            method="post",
        )
    ],
    # --- holds --------------------------------------------------------------------------------------
    "holds:list": [Row(EVERYONE)],
    "api-holds": [Row(EVERYONE, api=True)],
    "holds:assert": [Row(only(["chief"], 200, 403, 302), lambda w: {"cruise_pk": w.cruise.pk})],
    "holds:lift": [Row(only(["chief"], 302, 403, 302), lambda w: {"pk": w.hold.pk}, method="post")],
    # --- packages (edi.1.1 published; edi.2.1 held) ---------------------------------------------------
    "packages:list": [Row(EVERYONE)],
    "packages:package": [Row(table(302, 302), pkg)],  # to the newest revision
    "packages:revision": [Row(EVERYONE, rev)],
    "packages:report": [Row(EVERYONE, rev)],
    "packages-api-list": [
        Row(EVERYONE, api=True),
        # The Gatekeeper: anonymous 401, not vetted 403; an empty body is then a bad request.
        Row(only(["vetted", "data_manager"], either(202, 400), 403, 401), api=True, method="post"),
    ],
    "packages-api-evaluate": [
        Row(only(["vetted", "data_manager"], either(202, 400), 403, 401), api=True, method="post")
    ],
    "packages-api-package": [
        Row(EVERYONE, pkg, api=True),
        # Only the owner (or a data manager) updates a package.
        Row(only(["vetted", "data_manager"], either(202, 400), 403, 401), pkg, api=True, method="put"),
    ],
    "packages-api-revision": [Row(EVERYONE, lambda w: {**pkg(w), "revision": 1}, api=True)],
    # --- PASTA ----------------------------------------------------------------------------------------
    "pasta:create": [
        Row(only(["vetted", "data_manager"], either(202, 400), 403, 401), api=True, method="post")
    ],
    "pasta:evaluate": [
        Row(only(["vetted", "data_manager"], either(202, 400), 403, 401), api=True, method="post")
    ],
    "pasta:scope": [Row(EVERYONE, lambda w: {"scope": "edi"}, api=True)],
    "pasta:package": [
        Row(EVERYONE, pkg, api=True),
        Row(only(["vetted", "data_manager"], either(202, 400), 403, 401), pkg, api=True, method="put"),
    ],
    "pasta:revision": [Row(EVERYONE, pasta_rev, api=True)],
    "pasta:metadata": [Row(EVERYONE, pasta_rev, api=True)],
    "pasta:report": [Row(EVERYONE, pasta_rev, api=True)],
    # Held data: the owner and cruise A's people only.
    "pasta:data": [
        Row(
            only(HELD_DATA, 200, 403, 403),
            lambda w: {"scope": "edi", "identifier": 2, "revision": 1, "entity_id": w.held_entity.entity_id},
            api=True,
        )
    ],
    # The submission succeeded: it has no error, and only its submitter (and data managers) may ask.
    "pasta:error": [Row(table(404, 404), txn, api=True)],
    "pasta:evaluate-report": [Row(only(["vetted", "data_manager"], 200, 404, 404), txn, api=True)],
    # --- publishing -----------------------------------------------------------------------------------
    "publishing:oai": [Row(EVERYONE, query="?verb=Identify")],
    "publishing:oai-schema": [Row(EVERYONE, lambda w: {"name": "cruise-1.0.xsd"})],
    "publishing:dataset": [Row(EVERYONE, pkg)],
    "publishing:version": [Row(EVERYONE, rev)],
    "publishing:export": [Row(EVERYONE, lambda w: {**rev(w), "fmt": "datacite.xml"})],
    "publishing:download": [
        Row(
            only(HELD_DATA, 200, 403, 403),
            lambda w: {"scope": "edi", "identifier": 2, "number": 1, "entity_id": w.held_entity.pk},
        )
    ],
    # Every file of the held version in one zip: the same rule as each file's download.
    "publishing:download-all": [
        Row(only(HELD_DATA, 200, 403, 403), lambda w: {"scope": "edi", "identifier": 2, "number": 1})
    ],
    "publishing:resolve-doi": [Row(table(302, 302), lambda w: {"doi": w.doi.doi})],
    # --- artifacts (issue 14) ---------------------------------------------------------------------------
    # A derived file (Parquet alternate, manifest) of the held version: the same rule as its data.
    "artifacts:download": [Row(only(HELD_DATA, 200, 403, 403), lambda w: held_artifact(w))],
    # Withdraw/correct without a reason or title: the data manager is told what is missing.
    # Withdraw: a confirmation page for data managers; a POST without category and explanation is 400.
    "publishing:withdraw": [
        Row(DM_PAGE, rev),
        Row(DM_PAGE | {"data_manager": 400}, rev, method="post"),
        Row(
            DM_PAGE | {"data_manager": 302},
            rev,
            method="post",
            data={"category": "duplicate", "reason": "Same as edi.2"},
        ),
    ],
    "publishing:correct": [Row(DM_PAGE | {"data_manager": 302}, rev, method="post")],
    "publishing:doi-queue": [Row(DM_PAGE)],
    "publishing:doi-detail": [Row(DM_PAGE, lambda w: {"pk": w.doi.pk})],
    "publishing:doi-retry": [Row(DM_PAGE | {"data_manager": 302}, lambda w: {"pk": w.doi.pk}, method="post")],
    "api-doi-queue": [Row(DM_API, api=True)],
    "api-doi-retry": [
        Row(DM_API | {"data_manager": either(200, 202)}, lambda w: {"pk": w.doi.pk}, api=True, method="post")
    ],
    "api-version-dois": [Row(EVERYONE, rev, api=True)],
    "api-withdraw": [Row(DM_API | {"data_manager": 400}, rev, api=True, method="post")],
    # Taint (issue 16): a confirmation page and an API, data managers only; without a reason, 400.
    "publishing:taint": [Row(DM_PAGE, rev), Row(DM_PAGE | {"data_manager": 400}, rev, method="post")],
    "api-taint": [Row(DM_API | {"data_manager": 400}, rev, api=True, method="post")],
    # --- search ---------------------------------------------------------------------------------------
    "search:search": [Row(EVERYONE)],
    "api-search": [Row(EVERYONE, api=True)],
    # --- submissions (the vetted user's; private to them and data managers) ---------------------------
    "submissions:submit": [Row(only(["vetted", "data_manager"], 200, 403, 302))],
    "submissions:status": [Row(only(["vetted", "data_manager"], 200, 404, 404), txn)],
    "submissions:status-json": [Row(only(["vetted", "data_manager"], 200, 404, 404), txn)],
    "submissions:report": [Row(only(["vetted", "data_manager"], 200, 404, 404), txn)],
    "submissions-api-list": [Row(table(401, 200), api=True)],
    "submissions-api-detail": [Row(only(["vetted", "data_manager"], 200, 404, 401), txn, api=True)],
    # Retry from the failed step: data managers only (the matrix's submission has not failed: 302 back to
    # its page with the refusal for the page, 400 from the API); the pipeline page is theirs too.
    "submissions:retry": [Row(DM_PAGE | {"data_manager": 302}, txn, method="post")],
    "submissions-api-retry": [
        Row(
            only(["data_manager"], 400, 404, 401) | {"vetted": 403},
            txn,
            api=True,
            method="post",
        )
    ],
    "submissions:pipeline": [Row(DM_PAGE)],
    # Publish / discard a preview: its submitter or a data manager; the matrix's submission is published
    # already (409); tests/submissions/test_publish_preview.py covers the preview itself.
    "submissions:publish": [Row(only(["vetted", "data_manager"], 409, 404, 404), txn, method="post")],
    "submissions:discard": [Row(only(["vetted", "data_manager"], 409, 404, 404), txn, method="post")],
    # --- resumable uploads (tus): only the uploader reaches an upload; a tus request without
    # Tus-Resumable is 412 before anything is looked up (tests/uploads/ cover the protocol itself) ---
    "uploads:list": [Row(PAGE_FOR_SIGNED_IN)],
    "api-uploads": [Row(table(401, 200), api=True), Row(table(401, 412), api=True, method="post")],
    "api-upload": [
        Row(only(["vetted"], 200, 404, 401), upload_of_vetted, api=True),
        Row(table(401, 412), upload_of_vetted, api=True, method="delete"),
    ],
    # --- deliveries (cruise A's shipment; cruise A is held) --------------------------------------------
    "deliveries:feed": [Row(EVERYONE)],
    "deliveries:operator-feed": [Row(EVERYONE, lambda w: {"org_pk": w.cruise.operator_id})],
    "deliveries:register": [
        Row(only(["operator", "data_manager"], 200, 403, 302), lambda w: {"cruise_pk": w.cruise.pk})
    ],
    "deliveries:detail": [Row(EVERYONE, delivery_a)],
    "deliveries:changes": [Row(EVERYONE, delivery_a)],
    "deliveries:csv": [Row(EVERYONE, delivery_a)],  # checksums left out for the public while held
    "deliveries:hashdeep": [Row(only(THIS_CRUISE, 200, 403, 403), delivery_a)],
    # An empty flag is a 400 for a reviewer (the operator, the chief scientist, a data manager).
    "deliveries:flag": [
        Row(only(["operator", "chief", "data_manager"], 400, 403, 302), delivery_a, method="post")
    ],
    "deliveries:flag-answer": [Row(DM_PAGE | {"data_manager": 400}, flag_a, method="post")],
    "deliveries:flag-close": [Row(DM_PAGE | {"data_manager": 302}, flag_a, method="post")],
    "api-deliveries": [
        Row(EVERYONE, api=True),
        # Cruise A's operator or a data manager may register; an empty source is then a 400.
        Row(
            only(["operator", "data_manager"], 400, 403, 401),
            api=True,
            method="post",
            data={"cruise": "AA2401", "source": ""},
        ),
    ],
    "api-delivery": [Row(EVERYONE, delivery_a, api=True)],
    "api-delivery-files": [Row(EVERYONE, delivery_a, api=True)],
    "api-delivery-flags": [
        Row(only(THIS_CRUISE, 200, 403, 403), delivery_a, api=True),
        Row(only(["operator", "chief", "data_manager"], 400, 403, 401), delivery_a, api=True, method="post"),
    ],
    # --- distributions (issue 12): profiles, classification, deep copies, restores, accessions, bags ---
    "distributions:profiles": [Row(DM_PAGE)],
    "distributions:profile-new": [Row(DM_PAGE)],
    "distributions:profile-edit": [Row(DM_PAGE, lambda w: {"pk": distribution(w).profile.pk})],
    "distributions:classify": [Row(DM_PAGE, lambda w: {"delivery_pk": distribution(w).delivery.pk})],
    "distributions:deep-copy": [
        Row(
            DM_PAGE | {"data_manager": 302},
            lambda w: {"delivery_pk": distribution(w).delivery.pk},
            method="post",
        )
    ],
    # No deep copy yet: a data manager is told so (409).
    "distributions:deep-verify": [
        Row(
            DM_PAGE | {"data_manager": 409},
            lambda w: {"delivery_pk": distribution(w).delivery.pk},
            method="post",
        )
    ],
    "distributions:restore-request": [
        Row(only(RESTORERS, 200, 403, 302), lambda w: {"delivery_pk": distribution(w).delivery.pk})
    ],
    # Neither "approve" nor "decline": the data manager is told to choose (400).
    "distributions:restore-decide": [
        Row(DM_PAGE | {"data_manager": 400}, lambda w: {"pk": distribution(w).restore.pk}, method="post")
    ],
    "distributions:package": [
        Row(DM_PAGE | {"data_manager": 302}, lambda w: {"pk": distribution(w).dataset.pk}, method="post")
    ],
    "distributions:accession": [Row(DM_PAGE, lambda w: {"pk": distribution(w).dataset.pk})],
    "distributions:cruise-doi": [
        Row(DM_PAGE | {"data_manager": 302}, lambda w: {"cruise_pk": w.cruise.pk}, method="post")
    ],
    # Not marked for final migration: 409 for a data manager (held data never leaves in a bag).
    "distributions:bag": [Row(DM_PAGE | {"data_manager": 409}, lambda w: {"cruise_pk": w.cruise.pk})],
    "api-distribution-profiles": [
        Row(DM_API, api=True),
        Row(DM_API | {"data_manager": 400}, api=True, method="post"),
    ],
    "api-distribution-profile": [Row(DM_API, lambda w: {"pk": distribution(w).profile.pk}, api=True)],
    "api-distribution-classification": [
        Row(DM_API, lambda w: {"delivery_pk": distribution(w).delivery.pk}, api=True),
        Row(
            DM_API | {"data_manager": 400},
            lambda w: {"delivery_pk": distribution(w).delivery.pk},
            api=True,
            method="post",
        ),
    ],
    "api-distribution-restores": [
        Row(
            only(RESTORERS, 400, 403, 401),
            lambda w: {"delivery_pk": distribution(w).delivery.pk},
            api=True,
            method="post",
        )
    ],
    # Public until reported: 404 for everyone; reporting is for data managers (and the archive's account).
    "api-distribution-accession": [
        Row(
            table(404, 404),
            lambda w: {"scope": "edi", "identifier": distribution(w).dataset.package.identifier},
            api=True,
        ),
        Row(
            only(["data_manager"], 400, 403, 401),
            lambda w: {"scope": "edi", "identifier": distribution(w).dataset.package.identifier},
            api=True,
            method="post",
        ),
    ],
    # --- catalog and named files (issue 14) -------------------------------------------------------------
    # Files by name: the published version's for everyone; the held version's as its entity download.
    "publishing:named-file": [
        Row(EVERYONE, lambda w: named_file(w.published)),
        Row(only(HELD_DATA, 200, 403, 403), lambda w: named_file(w.held)),
    ],
    "publishing:latest-file": [
        Row(table(302, 302), lambda w: {**pkg(w), "path": named_file(w.published)["path"]}),
        # The held dataset has no public version: no "latest", whoever asks.
        Row(table(404, 404), lambda w: {"scope": "edi", "identifier": 2, "path": named_file(w.held)["path"]}),
    ],
    "catalog:root": [Row(EVERYONE)],
    "catalog:stac-parquet": [Row(EVERYONE, built_catalog)],
    "catalog:manifest": [
        Row(EVERYONE, lambda w: {**built_catalog(w), "path": "stac.parquet.json"}),
        Row(table(404, 404), lambda w: {"path": "releases/x.tar.gz.json"}),
    ],
    "catalog:collections": [Row(EVERYONE)],
    "catalog:collection": [Row(EVERYONE, lambda w: {"scope": "edi"})],
    "catalog:items": [Row(EVERYONE, lambda w: {"scope": "edi"})],
    "catalog:item": [
        Row(EVERYONE, lambda w: {"scope": "edi", "item_id": "edi.1.1"}),
        Row(table(404, 404), lambda w: {"scope": "edi", "item_id": "edi.2.1"}),  # held: never an item
    ],
    "catalog:version-mirrors": [Row(DM_PAGE, rev)],
    # No deposit repository configured in the matrix: the data manager is sent back with the message.
    "catalog:deposit": [Row(DM_PAGE | {"data_manager": 302}, rev, method="post")],
    "catalog:mirror": [Row(DM_PAGE, a_mirror)],
    # The local mirror folder is public (it holds only copies of published files); empty here: 404.
    "catalog:local-mirror": [Row(table(404, 404), lambda w: {"path": "edi.1.1/none.csv"})],
    "catalog:mirror-check": [Row(DM_PAGE | {"data_manager": 302}, a_mirror, method="post")],
    # --- federation (harvest sources: data managers; remote records: public metadata) ---------------
    # Registering without a base URL / acting without an action: the data manager is told (400).
    "federation:sources": [Row(DM_PAGE), Row(DM_PAGE | {"data_manager": 400}, method="post")],
    "federation:source": [
        Row(DM_PAGE, harvest_source),
        Row(DM_PAGE | {"data_manager": 400}, harvest_source, method="post"),
    ],
    "federation:remote": [Row(EVERYONE, remote_record)],
    "federation:mirror": [Row(DM_PAGE | {"data_manager": 302}, remote_record, method="post")],
    "api-harvest-sources": [
        Row(DM_API, api=True),
        Row(DM_API | {"data_manager": 400}, api=True, method="post"),
    ],
    "api-harvest-source": [
        Row(DM_API, harvest_source, api=True),
        Row(DM_API | {"data_manager": 400}, harvest_source, api=True, method="post"),
    ],
    "api-remote-record": [Row(EVERYONE, remote_record, api=True)],
    # --- quick shares (docs/sharing.md): approved sharers (= vetted submitters) share; the sharer and data
    # managers edit; the share page and its referral URI are public; nothing deletes a share (405).
    "shares:share": [Row(only(["vetted", "data_manager"], 200, 403, 302))],
    "shares:draft": [Row(only(["vetted", "data_manager"], 200, 404, 302), share_draft_of_vetted)],
    "shares:detail": [
        Row(EVERYONE, share_of_vetted),
        Row(table(405, 405), share_of_vetted, method="post"),
        Row(table(405, 405), share_of_vetted, method="delete"),
    ],
    "shares:edit": [
        Row(only(["vetted", "data_manager"], 200, 403, 302), share_of_vetted),
        Row(only(["vetted", "data_manager"], 400, 403, 302), share_of_vetted, method="post"),
    ],
    "shares:new-version": [Row(only(["vetted", "data_manager"], 200, 403, 302), share_of_vetted)],
    "shares:referral": [Row(table(303, 303), share_of_vetted)],
    # --- torrents (issue 15): public versions only; none is built here, so 404 — and the held version's
    # is 404 for everyone, even those who may see its data (a torrent is public or does not exist).
    "swarm:torrent": [
        Row(table(404, 404), rev),
        Row(table(404, 404), lambda w: {"scope": "edi", "identifier": 2, "number": 1}),
    ],
    "swarm:latest-torrent": [
        Row(table(404, 404), pkg),
        Row(table(404, 404), lambda w: {"scope": "edi", "identifier": 2}),
    ],
    # By infohash (what smart nodes fetch): the same rule; no torrent has this one.
    "swarm:by-infohash": [Row(table(404, 404), lambda w: {"infohash": "ab" * 20})],
    # --- smart nodes (issue 15 §3, docs/nodes.md) --------------------------------------------------------
    "nodes:health-parquet": [Row(EVERYONE, written_health)],
    "nodes:index": [Row(EVERYONE), Row(EVERYONE, written_health)],
    # Node operators issue tokens for their own nodes (an empty name: told, 400); data managers see every
    # node (to revoke), issue none. Revoking: the node's operator or a data manager; others do not see it.
    "nodes:mine": [
        Row(only(["node", "data_manager"], 200, 403, 302)),
        Row(only(["node"], 400, 403, 302) | {"data_manager": 403}, method="post"),
    ],
    "nodes:revoke": [Row(only(["node", "data_manager"], 302, 404, 302), node_of_operator, method="post")],
    # The node API takes a node's token (Bearer qn_…) only: a person's API token is 401 for everyone.
    "api-nodes-register": [Row(table(401, 401), api=True, method="post")],
    "api-nodes-report": [Row(table(401, 401), api=True, method="post")],
}

# URL families of third-party apps: every name with the prefix is covered by the rows of the sample
# names listed (their views share one access rule: the admin's staff check, allauth's entrance pages).
FAMILIES: dict[str, dict[str, list[Row]]] = {
    "admin:": {
        # The admin sends everyone who is not staff to its own login page; data managers are staff.
        "admin:index": [Row(table(302, 302, data_manager=200))],
        "admin:accounts_user_changelist": [Row(table(302, 302, data_manager=200))],
    },
    "account_": {
        # allauth sends signed-in people away from the entrance pages.
        "account_login": [Row(table(200, 302))],
        "account_signup": [Row(table(200, 302))],
        "account_reset_password": [Row(EVERYONE)],
        "account_email": [Row(PAGE_FOR_SIGNED_IN)],
    },
    "socialaccount_": {"socialaccount_connections": [Row(PAGE_FOR_SIGNED_IN)]},
    "orcid_": {"orcid_login": [Row(EVERYONE)]},
}


def named_urls() -> set[str]:
    """Every named URL of the URL conf, with its namespace (``cruises:detail``)."""

    def walk(patterns, namespace: str | None):
        for p in patterns:
            if isinstance(p, URLResolver):
                inner = namespace
                if p.namespace:
                    inner = f"{namespace}:{p.namespace}" if namespace else p.namespace
                yield from walk(p.url_patterns, inner)
            elif isinstance(p, URLPattern) and p.name:
                yield f"{namespace}:{p.name}" if namespace else p.name

    return set(walk(get_resolver().url_patterns, None))


def all_rows() -> dict[str, list[Row]]:
    rows = dict(MATRIX)
    for samples in FAMILIES.values():
        rows.update(samples)
    return rows


def test_every_named_url_has_a_row():
    names = named_urls()
    missing = sorted(
        n for n in names if n not in MATRIX and not any(n.startswith(prefix) for prefix in FAMILIES)
    )
    assert not missing, f"named URLs without a row in the access matrix: {missing}"
    stale = sorted(n for n in all_rows() if n not in names)
    assert not stale, f"access matrix rows for URLs that no longer exist: {stale}"


def _request(world: World, role: str, row: Row, url: str):
    user = world.users[role]
    if row.api:
        caller = api_client_for(user)
        return getattr(caller, row.method)(url, row.data, format="json")
    caller = Client()
    if user is not None:
        caller.force_login(user)
    return getattr(caller, row.method)(url, row.data)


@pytest.mark.parametrize("role", ROLES)
def test_url_matrix(world, role):
    wrong = []
    for name, rows in sorted(all_rows().items()):
        for row in rows:
            url = reverse(name, kwargs=row.kwargs(world)) + row.query
            savepoint = transaction.savepoint()
            try:
                response = _request(world, role, row, url)
                world.token.refresh_from_db()  # somebody else's token is never touched, whoever asks
                assert world.token.revoked_at is None, f"{url} as {role} revoked somebody else's token"
            finally:
                transaction.savepoint_rollback(savepoint)
            expected = row.expected[role]
            allowed = expected if isinstance(expected, frozenset) else {expected}
            if response.status_code not in allowed:
                wrong.append(
                    f"{row.method.upper()} {url} ({name}): {response.status_code}, expected {expected}"
                )
                continue
            if (
                response.status_code == 302
                and role == "anonymous"
                and not row.api
                and not name.startswith("admin:")
            ):
                location = response["Location"]
                if expected == 302 and row.expected["plain"] != 302:  # a sign-in redirect
                    assert location.startswith("/accounts/login/"), f"{url}: {location}"
    assert not wrong, f"as {role}:\n" + "\n".join(wrong)
