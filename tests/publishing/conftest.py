"""Fixtures for publishing: revisions made directly with the models, schema validators, DataCite."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.utils import timezone
from lxml import etree

from tests import factories
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


@pytest.fixture
def make_revision(db):
    """``tests.factories.make_revision(state="published", package=None, **fields)``, as a fixture."""
    return factories.make_revision


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
