import pytest

from apps.packages.models import Entity, Package, Revision
from apps.storage.services import store_bytes
from tests.cruises.helpers import approve_cruise

DATA = b"station,depth,temp\nS01,10,14.2\nS01,20,13.9\n"


def make_revision(owner, cruise, identifier: int, state=Revision.State.ARCHIVED, data: bytes = DATA):
    package = Package.objects.create(scope="edi", identifier=identifier, owner=owner, cruise=cruise)
    revision = Revision.objects.create(
        package=package, number=1, state=state, title=f"CTD casts {identifier}"
    )
    blob = store_bytes(data + str(identifier).encode())
    entity = Entity.objects.create(
        revision=revision,
        entity_id=f"ctd-{identifier}",
        name="ctd.csv",
        object_name="ctd.csv",
        mime_type="text/csv",
        blob=blob,
    )
    return revision, entity


@pytest.fixture
def approved_cruise(cruise, operator_user, chief_scientist):
    approve_cruise(cruise, operator_user, chief_scientist)
    return cruise


@pytest.fixture
def archived(approved_cruise, vetted_user):
    """An archived revision of a package linked to the approved cruise, with one CSV entity."""
    return make_revision(vetted_user, approved_cruise, 101)
