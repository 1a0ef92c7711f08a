import base64

import pytest

from apps.deliveries.models import Delivery
from apps.deliveries.uploads import upload_root
from tests.conftest import api_client_for

TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
OCTETS = "application/offset+octet-stream"


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def tus_client(user):
    client = api_client_for(user)
    client.credentials(**client._credentials, **TUS)
    return client


def create(client, length: int, **meta: str):
    return client.post("/api/uploads/", HTTP_UPLOAD_LENGTH=str(length), HTTP_UPLOAD_METADATA=metadata(**meta))


def patch(client, url: str, offset: int, data: bytes, **headers):
    return client.generic("PATCH", url, data, content_type=OCTETS, HTTP_UPLOAD_OFFSET=str(offset), **headers)


@pytest.fixture
def delivery(cruise, operator_user):
    return Delivery.objects.create(
        cruise=cruise, shipment="S1", method=Delivery.Method.UPLOAD, created_by=operator_user
    )


@pytest.fixture
def delivery_root(delivery, settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    return upload_root(delivery)
