"""Mirrors are verified (size, sampled pieces, whole files) over real sockets; a changed byte is caught and
data managers are told; a Zenodo-style deposit becomes a verified mirror."""

from __future__ import annotations

import pytest

from apps.catalog import deposit, mirrors, services
from apps.catalog.models import Deposit, Mirror, MirrorCheck
from apps.publishing.files import version_files
from apps.storage.services import open_blob
from tests.support.mirror_server import RangeServer, ZenodoServer

from .conftest import read_catalog

pytestmark = pytest.mark.django_db


def _copy_tree(revision, root):
    tree = root / revision.package_id_text
    tree.mkdir(parents=True)
    for f in version_files(revision):
        with open_blob(f.blob) as fh:
            (tree / f.path).write_bytes(fh.read())
    return tree


def _register(revision, server, user, capture, kind=Mirror.Kind.BUCKET) -> Mirror:
    """The version's tree on ``server`` registered as a mirror (its verification task not queued)."""
    with capture(execute=False):
        return services.register_mirror(
            revision, kind=kind, base_url=f"{server.url}/{revision.package_id_text}/", user=user
        )


@pytest.fixture
def mirrored(make_revision, tmp_path, data_manager, django_capture_on_commit_callbacks):
    revision = make_revision(files=2)
    tree = _copy_tree(revision, tmp_path / "bucket")
    with RangeServer(tmp_path / "bucket") as server:
        mirror = _register(revision, server, data_manager, django_capture_on_commit_callbacks)
        yield revision, mirror, tree


def test_a_mirror_with_one_changed_byte_is_found_bad_and_data_managers_are_told(
    mirrored, mailoutbox, django_capture_on_commit_callbacks
):
    revision, mirror, tree = mirrored
    assert mirrors.verify(mirror.pk).startswith("ok")
    mirror.refresh_from_db()
    assert mirror.health == "ok" and mirror.verified_at
    services.refresh(force=True)
    row = read_catalog().to_pylist()[0]
    assert row["quayside:verified_mirrors"] == 1
    assert row["assets"]["mirror-1"]["href"] == mirror.base_url
    target = tree / "temp1.csv"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with django_capture_on_commit_callbacks(execute=True):
        result = mirrors.verify(mirror.pk)
    assert result.startswith("bad") and "temp1.csv" in result
    mirror.refresh_from_db()
    assert mirror.health == "bad"
    assert [c.ok for c in MirrorCheck.objects.filter(mirror=mirror).order_by("at", "pk")] == [True, False]
    assert len(mailoutbox) == 1 and revision.package_id_text in mailoutbox[0].subject
    # Still bad at the next check: no second mail.
    with django_capture_on_commit_callbacks(execute=True):
        mirrors.verify(mirror.pk)
    assert len(mailoutbox) == 1


def test_sampled_and_full_checks_and_a_wrong_size(mirrored, settings):
    revision, mirror, tree = mirrored
    settings.MIRROR_SAMPLE_BYTES = 4  # files of ~30 bytes: three 4-byte pieces each
    assert mirrors.verify(mirror.pk).startswith("ok")
    sampled = MirrorCheck.objects.get(mirror=mirror).bytes_read
    assert 0 < sampled <= 2 * 12 < sum(f.size for f in version_files(revision))  # pieces, not whole files
    data = bytearray((tree / "temp0.csv").read_bytes())
    data[5] ^= 0x01
    (tree / "temp0.csv").write_bytes(bytes(data))
    assert mirrors.verify(mirror.pk, full=True).startswith("bad")
    (tree / "temp0.csv").write_bytes(bytes(data) + b"x")
    assert "bytes" in mirrors.verify(mirror.pk)
    # The due list: a full check was just made, so the daily one is not due.
    assert not mirrors.due_mirrors(full=True).filter(pk=mirror.pk).exists()


def test_private_addresses_are_refused_unless_loopback_is_allowed(mirrored, settings):
    settings.MIRROR_ALLOW_LOOPBACK = False
    _, mirror, _ = mirrored
    assert "private, loopback" in mirrors.verify(mirror.pk)


def test_a_deposit_publishes_a_record_and_registers_it_as_a_verified_mirror(
    make_revision, settings, django_capture_on_commit_callbacks
):
    revision = make_revision(
        files=2,
        title="Harbour temperature",
        abstract="Temperatures <script>alert(1)</script> & salinity.\n\nSecond paragraph.",
        creators=[
            {
                "given": "Ada",
                "family": "Lovelace",
                "affiliation": "Harbour Lab",
                "orcid": "https://orcid.org/0000-0002-1825-0097",
            },
            {"given": "Bad", "family": "Checksum", "orcid": "0000-0002-1825-0098"},
        ],
    )
    with ZenodoServer() as zenodo:
        settings.ZENODO_API_URL = f"{zenodo.url}/api"
        settings.ZENODO_TOKEN = zenodo.token
        with django_capture_on_commit_callbacks(execute=False):
            request = services.request_deposit(revision)
        zenodo.fail_next(1)  # the first call meets an outage: recorded, retried later
        assert deposit.run(request.pk).startswith("failed")
        request.refresh_from_db()
        assert request.state == Deposit.State.PENDING and request.attempts == 1 and request.next_try_at
        assert not deposit.due_deposits().filter(pk=request.pk).exists()
        with django_capture_on_commit_callbacks(execute=False):
            assert deposit.run(request.pk).startswith("done")
        request.refresh_from_db()
        assert request.state == Deposit.State.DONE and request.doi == "10.5072/zenodo.1"
        record = zenodo.depositions[1]
        sent = record["metadata"]
        assert sent["creators"] == [
            {"name": "Lovelace, Ada", "affiliation": "Harbour Lab", "orcid": "0000-0002-1825-0097"},
            {"name": "Checksum, Bad"},  # a malformed iD would make Zenodo refuse the whole deposit
        ]
        assert sent["description"] == (
            "<p>Temperatures &lt;script&gt;alert(1)&lt;/script&gt; &amp; salinity.</p><p>Second paragraph.</p>"
        )
        assert sent["publication_date"] == revision.published_at.date().isoformat()
        assert record["metadata"]["title"] == "Harbour temperature" and set(record["files"]) == {
            "temp0.csv",
            "temp1.csv",
        }
        mirror = request.mirror
        assert mirror.kind == "zenodo" and mirror.doi == request.doi
        assert set(mirror.file_urls) == {"temp0.csv", "temp1.csv"}
        assert mirrors.verify(mirror.pk, full=True).startswith("ok")
        assert deposit.run(request.pk) == "busy or done"


@pytest.mark.parametrize("allow_head, ignore_ranges", [(False, False), (True, True), (False, True)])
def test_a_server_without_head_or_range_is_still_checked_byte_for_byte(
    make_revision,
    tmp_path,
    data_manager,
    settings,
    django_capture_on_commit_callbacks,
    allow_head,
    ignore_ranges,
):
    settings.MIRROR_SAMPLE_BYTES = 4  # files of ~30 bytes: sampled in pieces where Range works
    revision = make_revision(files=2)
    tree = _copy_tree(revision, tmp_path / "plain")
    with RangeServer(tmp_path / "plain", allow_head=allow_head, ignore_ranges=ignore_ranges) as server:
        mirror = _register(
            revision, server, data_manager, django_capture_on_commit_callbacks, Mirror.Kind.HTTP
        )
        assert mirrors.verify(mirror.pk).startswith("ok")  # intact: not a false alarm
        check = MirrorCheck.objects.filter(mirror=mirror).latest("pk")
        whole = sum(f.size for f in version_files(revision))
        # Without Range the files are read whole, once each (not once per piece).
        assert check.bytes_read == whole if ignore_ranges else check.bytes_read < whole
        # A longer file: HEAD's Content-Length, Content-Range's total, or the whole read says so.
        target = tree / "temp1.csv"
        target.write_bytes(target.read_bytes() + b"extra")
        result = mirrors.verify(mirror.pk)
        assert result.startswith("bad") and "temp1.csv" in result and "bytes" in result
        # One changed byte in the middle, same size.
        data = bytearray(target.read_bytes()[:-5])
        data[len(data) // 2] ^= 0x01
        target.write_bytes(bytes(data))
        settings.MIRROR_SAMPLE_BYTES = 1 << 20  # small files: read whole whatever the server
        assert mirrors.verify(mirror.pk).startswith("bad")
