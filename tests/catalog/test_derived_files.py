"""Derived files (Parquet alternates, build manifests) are files of the version's tree: listed by
``version_files``, served by name under the artifact's access rule, reachable by ``latest/``, linked from
the landing page, assets of the catalog (the Parquet an alternate of its table) and mirrored and
deposited with the rest."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from apps.artifacts.manifests import Input, Output, record_build
from apps.catalog import deposit, items, mirrors, services
from apps.catalog.models import CatalogState, Mirror
from apps.publishing import services as publishing
from apps.publishing.files import version_files
from apps.storage.services import open_blob, store_bytes
from tests.support.mirror_server import RangeServer, ZenodoServer

from .conftest import read_catalog

pytestmark = pytest.mark.django_db

PARQUET = "application/vnd.apache.parquet"


def _parquet_bytes(n: int) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"temp": list(range(n))}), out)
    return out.getvalue()


def with_artifacts(revision):
    """Record a Parquet alternate of each table through the one writer (``record_build``), as the
    artifacts build does (the conversion itself is tested in tests/artifacts)."""
    for i, entity in enumerate(revision.entities.order_by("pk")):
        record_build(
            "parquet",
            inputs=[Input(name=entity.object_name, sha256=entity.blob.sha256, size=entity.blob.size)],
            outputs=[
                Output(
                    path=f"parquet/temp{i}.parquet",
                    blob=store_bytes(_parquet_bytes(3 + i)),
                    media_type=PARQUET,
                    entity=entity,
                )
            ],
            config={"entity_id": entity.entity_id},
            revision=revision,
        )
    return revision


def _url(revision, path):
    p = revision.package
    return f"/dataset/{p.scope}/{p.identifier}/{revision.number}/{p.scope}.{p.identifier}.{revision.number}/{path}"


def test_the_listing_holds_parquet_and_manifests_served_by_name_and_latest(make_revision, client):
    revision = with_artifacts(make_revision(files=2))
    files = version_files(revision)
    assert [(f.path, f.role, f.alternate_of) for f in files] == [
        ("temp0.csv", "data", ""),
        ("temp1.csv", "data", ""),
        ("parquet/temp0.parquet", "data", "temp0.csv"),
        ("parquet/temp1.parquet", "data", "temp1.csv"),
        ("manifests/parquet/temp0.parquet.json", "metadata", ""),
        ("manifests/parquet/temp1.parquet.json", "metadata", ""),
    ]
    parquet = files[2]
    assert parquet.media_type == PARQUET and parquet.artifact_pk and parquet.md5
    part = client.get(_url(revision, parquet.path), HTTP_RANGE="bytes=0-3")
    assert part.status_code == 206 and b"".join(part.streaming_content) == b"PAR1"
    assert part["ETag"] == f'"{parquet.sha256}"' and part["Content-Type"] == PARQUET
    manifest = client.get(_url(revision, files[4].path))
    assert manifest.status_code == 200 and b'"kind": "parquet"' in b"".join(manifest.streaming_content)
    latest = client.get(f"/dataset/edi/{revision.package.identifier}/latest/parquet/temp1.parquet")
    assert latest.status_code == 302 and latest["Location"] == _url(revision, "parquet/temp1.parquet")
    # The landing page links the Parquet and its manifest by their names (and in its signposting).
    page = client.get(f"/dataset/edi/{revision.package.identifier}/1/")
    body = page.content.decode()
    assert _url(revision, "parquet/temp0.parquet") in body
    assert _url(revision, "manifests/parquet/temp0.parquet.json") in body
    assert f'{_url(revision, "parquet/temp0.parquet")}>; rel="item"; type="{PARQUET}"' in page["Link"]


def test_held_withdrawn_and_tainted_derived_files_never_leak(make_revision, client, data_manager):
    held, withdrawn, tainted = (with_artifacts(make_revision(files=1)) for _ in range(3))
    type(held).objects.filter(pk=held.pk).update(state="held")
    type(tainted).objects.filter(pk=tainted.pk).update(state="tainted")
    publishing.withdraw(withdrawn, reason="Wrong calibration", category="data-error")
    manager = client
    manager.force_login(data_manager)
    for revision in (held, withdrawn, tainted):
        revision.refresh_from_db()
        assert [f.path for f in version_files(revision) if f.artifact_pk] == []
        for path in ("parquet/temp0.parquet", "manifests/parquet/temp0.parquet.json"):
            assert manager.get(_url(revision, path)).status_code in (403, 404, 410)
        latest = f"/dataset/edi/{revision.package.identifier}/latest/parquet/temp0.parquet"
        assert manager.get(latest).status_code == 404


def test_catalog_assets_list_the_parquet_as_an_alternate_of_its_table(
    make_revision, client, django_capture_on_commit_callbacks
):
    from stac_geoparquet.arrow import stac_table_to_items

    revision = make_revision(files=2)
    services.refresh(force=True)
    # Recording the build marks the catalog dirty: the new files reach the served file at the next refresh.
    CatalogState.objects.filter(pk=1).update(dirty_at=None)
    with django_capture_on_commit_callbacks(execute=False):
        with_artifacts(revision)
    assert CatalogState.get().dirty_at is not None
    assert items.asset_width() == (6, 0)
    services.refresh()
    row = read_catalog().to_pylist()[0]
    assets = row["assets"]
    assert assets["file-3"]["href"].endswith("/parquet/temp0.parquet")
    assert assets["file-3"]["type"] == PARQUET and assets["file-3"]["roles"] == ["data"]
    assert assets["file-3"]["quayside:alternate_of"] == "file-1"
    assert assets["file-5"]["roles"] == ["metadata"] and assets["file-1"]["quayside:alternate_of"] is None
    # Each alternate names the asset of its build manifest, as it names the table it renders.
    assert (
        assets["file-3"]["quayside:manifest"] == "file-5"
        and assets["file-4"]["quayside:manifest"] == "file-6"
    )
    assert assets["file-5"]["href"].endswith("/manifests/parquet/temp0.parquet.json")
    assert assets["file-1"]["quayside:manifest"] is None and assets["file-5"]["quayside:manifest"] is None
    listed = version_files(revision)
    assert assets["file-4"]["file:checksum"] == "1220" + listed[3].sha256
    [item] = list(stac_table_to_items(read_catalog()))
    served = client.get(f"/catalog/collections/edi/items/{revision.package_id_text}").json()
    assert served["assets"]["file-4"]["quayside:alternate_of"] == "file-2"
    assert item["assets"]["file-4"]["href"] == served["assets"]["file-4"]["href"]
    assert served["assets"]["file-4"]["quayside:manifest"] == item["assets"]["file-4"]["quayside:manifest"]
    assert "quayside:manifest" not in served["assets"]["file-2"]


def test_mirrors_check_and_deposits_upload_the_derived_files(make_revision, tmp_path, settings):
    revision = with_artifacts(make_revision(files=1))
    tree = tmp_path / "bucket" / revision.package_id_text
    for f in version_files(revision):
        (tree / f.path).parent.mkdir(parents=True, exist_ok=True)
        with open_blob(f.blob) as fh:
            (tree / f.path).write_bytes(fh.read())
    with RangeServer(tmp_path / "bucket") as server:
        mirror = services.register_mirror(
            revision, kind=Mirror.Kind.BUCKET, base_url=f"{server.url}/{revision.package_id_text}/"
        )
        assert mirrors.verify(mirror.pk, full=True).startswith("ok")
        data = bytearray((tree / "parquet/temp0.parquet").read_bytes())
        data[6] ^= 0x01
        (tree / "parquet/temp0.parquet").write_bytes(bytes(data))
        result = mirrors.verify(mirror.pk, full=True)
        assert result.startswith("bad") and "parquet/temp0.parquet" in result
    with ZenodoServer() as zenodo:
        settings.ZENODO_API_URL = f"{zenodo.url}/api"
        settings.ZENODO_TOKEN = zenodo.token
        request = services.request_deposit(revision)
        assert deposit.run(request.pk).startswith("done")
        assert set(zenodo.depositions[1]["files"]) == {
            "temp0.csv",
            "parquet__temp0.parquet",
            "manifests__parquet__temp0.parquet.json",
        }
