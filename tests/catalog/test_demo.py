"""The demo serves stac.parquet with every demo version and one registered mirror, verified over HTTP."""

from __future__ import annotations

import pytest

from apps.catalog import mirrors
from apps.catalog.models import Mirror
from apps.packages.models import Revision

from .conftest import read_catalog

pytestmark = pytest.mark.django_db


def test_demo_serves_the_catalog_with_every_version_and_a_mirror(client, settings, tmp_path, monkeypatch):
    from apps.accounts import demo as accounts_demo
    from apps.catalog import demo as catalog_demo
    from apps.catalog import http
    from apps.publishing import demo as publishing_demo

    settings.DATACITE_API_URL = ""
    settings.CATALOG_LOCAL_MIRROR_DIR = tmp_path / "mirror"
    lines = []
    for _ in range(2):
        accounts_demo.load(lines.append)
        publishing_demo.load(lines.append)
        catalog_demo.load(lines.append)
    assert Mirror.objects.count() == 1
    ids = set(read_catalog()["id"].to_pylist())
    assert ids == {
        r.package_id_text for r in Revision.objects.filter(state__in=["published", "withdrawn", "tainted"])
    }
    assert client.get("/catalog/stac.parquet").status_code == 200
    # The mirror is the portal's own second folder: check it through the test client instead of a socket.
    mirror = Mirror.objects.get()
    path = mirror.base_url.removeprefix(settings.SITE_BASE_URL)
    assert client.head(path + "temperature.csv").status_code == 200

    def through_client(method, url, *, headers=None, body=None, follow=True):
        local = url.removeprefix(settings.SITE_BASE_URL)
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
        response = client.generic(method, local, **extra)
        data = b"".join(response.streaming_content) if response.streaming else response.content

        class Raw:
            status = response.status_code
            headers = {k: v for k, v in response.items()}
            left = [data]

            def read(self, n=-1):
                return self.left.pop() if self.left else b""

            def close(self):
                pass

        raw = Raw()
        return http.Response(raw.status, raw.headers, raw, raw, url)

    monkeypatch.setattr(http, "request", through_client)
    assert mirrors.verify(mirror.pk, full=True).startswith("ok")
