"""Uploads into a delivery (``delivery=<pk>``): who may (the cruise's operator and data managers), which
deliveries take files, and where the worker puts them — under the delivery's upload folder at their
relative path, never replacing a file or colliding with one after Unicode normalisation or case folding."""

import pytest

from apps.deliveries.models import Delivery
from apps.uploads import services
from apps.uploads.models import Upload

from .conftest import create, patch, tus_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "status"),
    [("operator_user", 201), ("data_manager", 201), ("chief_scientist", 403), ("plain_user", 403)],
)
def test_the_operator_and_data_managers_may_upload_to_a_delivery(request, delivery, role, status):
    client = tus_client(request.getfixturevalue(role))
    response = create(client, 3, filename="a.txt", delivery=str(delivery.pk))
    assert response.status_code == status, response.content


def test_an_unknown_delivery_is_404_and_one_not_taking_files_is_409(operator_user, delivery):
    client = tus_client(operator_user)
    assert create(client, 3, filename="a", delivery="999999").status_code == 404
    Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.INVENTORIED)
    assert create(client, 3, filename="a", delivery=str(delivery.pk)).status_code == 409


def test_two_live_uploads_to_one_path_collide_after_case_folding(operator_user, delivery):
    client = tus_client(operator_user)
    assert (
        create(client, 3, filename="a", relativePath="CTD/Cast.hex", delivery=str(delivery.pk)).status_code
        == 201
    )
    clash = create(client, 3, filename="a", relativePath="ctd/cast.HEX", delivery=str(delivery.pk))
    assert clash.status_code == 409


def _send(client, delivery, path: str, data: bytes) -> Upload:
    url = create(
        client, len(data), filename=path.rsplit("/", 1)[-1], relativePath=path, delivery=str(delivery.pk)
    )["Location"]
    assert patch(client, url, 0, data).status_code == 204
    return services.place_upload(url.rsplit("/", 1)[1])


def test_the_worker_places_files_at_their_relative_paths_and_refuses_collisions(
    operator_user, delivery, delivery_root
):
    client = tus_client(operator_user)
    first = _send(client, delivery, "nav/Posmv.txt", b"$GPGGA")
    assert first.state == Upload.State.DONE and "nav/Posmv.txt" in first.result
    assert (delivery_root / "nav" / "Posmv.txt").read_bytes() == b"$GPGGA"
    # Decomposed "é" (NFD) arrives as NFC; a name that differs only by case fails with the reason.
    second = _send(client, delivery, "nav/Cafe\u0301.txt", b"x")
    assert second.state == Upload.State.DONE and (delivery_root / "nav" / "Caf\u00e9.txt").exists()
    third = _send(client, delivery, "NAV/posmv.TXT", b"other")
    assert third.state == Upload.State.FAILED and "collides" in third.error
    assert (delivery_root / "nav" / "Posmv.txt").read_bytes() == b"$GPGGA"
    assert not third.path.exists()
