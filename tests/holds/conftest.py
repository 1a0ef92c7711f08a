import pytest

from tests.cruises.helpers import approve_cruise
from tests.factories import make_revision
from tests.support.ingest_fixtures import allow_loopback, data_server  # noqa: F401


@pytest.fixture
def approved_cruise(cruise, operator_user, chief_scientist):
    approve_cruise(cruise, operator_user, chief_scientist)
    return cruise


@pytest.fixture
def archived(approved_cruise, vetted_user):
    """(revision, entity): an archived revision of a package linked to the approved cruise, with one CSV file."""
    revision = make_revision("archived", owner=vetted_user, cruise=approved_cruise, identifier=101)
    return revision, revision.entities.get()
