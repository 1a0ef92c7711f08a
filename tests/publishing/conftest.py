"""Fixtures for publishing: revisions made directly with the models, schema validators, DataCite."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.utils import timezone
from lxml import etree

from apps.packages.models import Entity, Package, Revision
from tests.support.schemas import SCHEMAS

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
NS = {
    "oai": OAI_NS,
    "dc": "http://purl.org/dc/elements/1.1/",
    "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "dcite": "http://datacite.org/schema/kernel-4",
    "eml": "https://eml.ecoinformatics.org/eml-2.2.0",
    "cr": "https://quayside.invalid/schemas/cruise-1.0",
}

EML_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<eml:eml xmlns:eml="https://eml.ecoinformatics.org/eml-2.2.0" packageId="{pid}" system="https://quayside.invalid">
  <dataset>
    <title>{title}</title>
    <creator><individualName><givenName>Ada</givenName><surName>Lovelace</surName></individualName></creator>
    <contact><individualName><surName>Lovelace</surName></individualName></contact>
  </dataset>
</eml:eml>
"""


def _schema(path: Path) -> etree.XMLSchema:
    # Every import in these schemas points at a local file next to it: no network is needed.
    parser = etree.XMLParser(no_network=True)
    return etree.XMLSchema(etree.parse(str(path), parser))


@pytest.fixture(scope="session")
def schemas() -> dict[str, etree.XMLSchema]:
    return {
        "oai": _schema(SCHEMAS / "oai-pmh-2.0/OAI-PMH.xsd"),
        "oai_dc": _schema(SCHEMAS / "oai-pmh-2.0/oai_dc.xsd"),
        "datacite": _schema(SCHEMAS / "datacite-4.5/metadata.xsd"),
        "eml": _schema(SCHEMAS / "eml-2.2.0/eml.xsd"),
        "cruise": _schema(Path(__file__).resolve().parents[2] / "apps/publishing/oai/schemas/cruise-1.0.xsd"),
    }


def assert_valid(schema: etree.XMLSchema, element) -> None:
    if isinstance(element, (bytes, str)):
        element = etree.fromstring(element.encode() if isinstance(element, str) else element)
    ok = schema.validate(element)
    assert ok, "\n".join(str(e) for e in schema.error_log)


def _next_identifier(scope: str) -> int:
    last = (
        Package.objects.filter(scope=scope)
        .order_by("-identifier")
        .values_list("identifier", flat=True)
        .first()
    )
    return (last or 0) + 1


@pytest.fixture
def make_revision(db, django_user_model):
    """make_revision(state="published", package=None, **fields) → a revision built with the models.

    "published" revisions go through ``on_archived`` (the real publishing path); the DOI tasks it
    queues on commit are not run (tests run them explicitly)."""
    from apps.publishing import services
    from apps.storage.services import store_bytes

    owner = django_user_model.objects.filter(
        email="owner@example.org"
    ).first() or django_user_model.objects.create_user(
        email="owner@example.org", password="x-owner-password", name="Package Owner"
    )

    def make(
        state: str = "published",
        *,
        package: Package | None = None,
        scope: str = "edi",
        cruise=None,
        files: int = 1,
        eml: bool = True,
        **fields,
    ) -> Revision:
        if package is None:
            package = Package.objects.create(
                scope=scope, identifier=_next_identifier(scope), owner=owner, cruise=cruise
            )
        number = (package.revisions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
        defaults = {
            "title": f"Bottom temperature of the test shelf, part {package.identifier}",
            "abstract": "Hourly bottom temperature from moored loggers on the test shelf.",
            "keywords": ["temperature", "moorings"],
            "creators": [
                {
                    "name": "Ada Lovelace",
                    "given": "Ada",
                    "family": "Lovelace",
                    "orcid": "0000-0002-1825-0097",
                    "affiliation": "Test Oceanographic Institution",
                    "email": "ada@example.org",
                },
                {"name": "Shelf Observing Network", "affiliation": ""},
            ],
            "coverage": {
                "bbox": [-70.5, 40.1, -69.2, 41.3],
                "begin": "2024-03-01",
                "end": "2024-03-20",
                "description": "Test shelf",
            },
            "licence": "CC-BY-4.0",
        }
        defaults.update(fields)
        revision = Revision.objects.create(
            package=package,
            number=number,
            state=Revision.State.ARCHIVED,
            archived_at=timezone.now(),
            submitted_by=owner,
            **defaults,
        )
        if eml:
            revision.eml_blob = store_bytes(
                EML_TEMPLATE.format(pid=revision.package_id_text, title=revision.title).encode()
            )
            revision.eml_version = "2.2.0"
            revision.save(update_fields=["eml_blob", "eml_version"])
        for i in range(files):
            data = f"time,temp\n2024-03-0{i + 1}T00:00Z,{4 + i}.5\n".encode()
            blob = store_bytes(data)
            Entity.objects.create(
                revision=revision,
                entity_id=f"e{i}",
                name=f"temperature {i}",
                object_name=f"temp{i}.csv",
                declared_size=len(data),
                declared_md5=blob.md5,
                format_name="text/csv",
                mime_type="text/csv",
                blob=blob,
            )
        if state == "published":
            services.on_archived(revision)
        elif state == "held":
            revision.state = Revision.State.HELD
            revision.save(update_fields=["state"])
            from apps.search.services import index_revision

            index_revision(revision)
        elif state != "archived":
            revision.state = state
            revision.save(update_fields=["state"])
        revision.refresh_from_db()
        return revision

    return make


@pytest.fixture
def award(db, cruise):
    from apps.cruises.models import Award

    return Award.objects.create(
        cruise=cruise,
        funder="National Science Foundation",
        number="OCE-2400001",
        funder_identifier="https://ror.org/021nxhr62",
        title="Shelf exchange",
    )


@pytest.fixture
def datacite(settings):
    from tests.support.datacite_server import DataCiteServer

    with DataCiteServer(prefix=settings.DOI_PREFIX) as server:
        settings.DATACITE_API_URL = server.url
        settings.DATACITE_REPOSITORY_ID = server.repository_id
        settings.DATACITE_PASSWORD = server.password
        yield server


def days_ago(n: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=n)
