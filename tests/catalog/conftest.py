"""Fixtures for the catalog: its own folder per test, loopback mirrors allowed (never in production)."""

from __future__ import annotations

import pytest

from tests import factories


@pytest.fixture(autouse=True)
def catalog_settings(settings, tmp_path):
    settings.CATALOG_DIR = tmp_path / "catalog"
    settings.MIRROR_ALLOW_LOOPBACK = True
    settings.MIRROR_SAMPLE_BYTES = 16
    return settings


@pytest.fixture
def make_revision(db):
    return factories.make_revision


def read_catalog():
    import pyarrow.parquet as pq

    from apps.catalog.services import catalog_path

    return pq.read_table(catalog_path())


@pytest.fixture
def held_revision(db, cruise, operator_user, chief_scientist, vetted_user):
    """(hold, revision): an archived revision of an approved cruise's package, held by a real hold."""
    import datetime

    from django.utils import timezone

    from apps.holds import services as holds
    from tests.cruises.helpers import approve_cruise

    approve_cruise(cruise, operator_user, chief_scientist)
    revision = factories.make_revision("archived", owner=vetted_user, cruise=cruise)
    hold = holds.assert_hold(
        cruise, chief_scientist, ends_on=timezone.now().date() + datetime.timedelta(days=30), reason="Thesis"
    )
    revision.refresh_from_db()
    assert revision.state == "held"
    return hold, revision
