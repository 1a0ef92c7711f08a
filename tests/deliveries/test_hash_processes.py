"""Small files hashed by helper processes (``apps.deliveries.hashproc``): the same rows as the threads give,
the same open-time safety inside the helpers, and a helper that dies costs nothing but time."""

from __future__ import annotations

import hashlib
import os
import sys

import pytest
from django.conf import settings

from apps.deliveries import hashproc, inventory, services
from apps.deliveries.models import InventoryFile
from apps.deliveries.sources import FolderSource

pytestmark = pytest.mark.django_db

# 40 small files in two folders and one file above ``inventory.SMALL`` (it stays on the threads).
FILES = {f"ctd/cast{i:03d}.hex": f"cast {i}\n".encode() * (50 + i) for i in range(20)}
FILES |= {f"adcp/ens{i:03d}.raw": bytes([i]) * (3000 + i) for i in range(20)}
FILES["multibeam/0001.all"] = os.urandom(inventory.SMALL + 12345)


def make(root, files=FILES):
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def assert_hashed(got: dict[str, tuple], files: dict[str, bytes]) -> None:
    """Every file's row is hashed, with its size, MD5 and SHA-256, and no error."""
    assert set(got) == set(files)
    for name, data in files.items():
        assert got[name] == (
            "hashed",
            len(data),
            hashlib.md5(data).hexdigest(),
            hashlib.sha256(data).hexdigest(),
            "",
        ), name


def rows(delivery) -> dict[str, tuple]:
    return {
        f.path: (f.status, f.size, f.md5, f.sha256, f.error)
        for f in InventoryFile.objects.filter(delivery=delivery)
    }


def inventoried(user, cruise, folder, shipment):
    delivery = services.register_delivery(user, cruise, str(folder), shipment=shipment)
    assert services.run_inventory(delivery.pk, owner="test:host:1") == "done"
    return delivery


@pytest.fixture
def processes(settings):
    settings.DELIVERY_HASH_PROCESSES = 2
    settings.DELIVERY_HASH_PROCESS_MIN_FILES = 1  # this small tree is enough to start them
    return settings


def test_helper_processes_give_the_rows_the_threads_give(
    operator_user, cruise, dropbox, processes, monkeypatch
):
    used = []
    original = inventory._helpers

    def watched(*args):
        helpers = original(*args)
        used.append(helpers is not None)
        return helpers

    monkeypatch.setattr(inventory, "_helpers", watched)
    folder = make(dropbox / "RR2401")
    with_processes = inventoried(operator_user, cruise, folder, "1")
    processes.DELIVERY_HASH_PROCESSES = 0
    with_threads = inventoried(operator_user, cruise, folder, "2")
    assert used == [True, False]
    got = rows(with_processes)
    assert got == rows(with_threads)
    assert_hashed(got, FILES)


def test_a_file_swapped_for_a_link_out_after_the_scan_is_refused_inside_a_helper(tmp_path):
    root = tmp_path / "delivery"
    make(root)
    outside = tmp_path / "secret.txt"
    outside.write_bytes(b"not part of the delivery\n")
    swapped = root / "ctd" / "cast001.hex"
    swapped.unlink()
    swapped.symlink_to(outside)  # after the scan listed it as a regular file
    (root / "adcp").rename(tmp_path / "adcp-elsewhere")
    (root / "adcp").symlink_to(tmp_path / "adcp-elsewhere")  # a parent folder swapped for a link out
    items = [
        (1, "ctd/cast001.hex", 10),
        (2, "adcp/ens001.raw", 3001),
        (3, "ctd/cast002.hex", len(FILES["ctd/cast002.hex"])),
    ]
    got = []
    helpers = hashproc.Helpers(
        os.path.realpath(root), sha1=False, count=1, done=got.extend, cwd=str(settings.BASE_DIR)
    )
    assert helpers.put(items, timeout=5) and helpers.put(None, timeout=5)
    helpers.threads[0].join(timeout=30)
    assert not helpers.busy()
    assert got[0][4] == "error" and "Too many levels of symbolic links" in got[0][5]
    assert got[1][4] == "error" and got[1][5] == "adcp/ens001.raw: resolves outside the delivery"
    assert got[2][4] == "hashed" and got[2][3] == hashlib.sha256(FILES["ctd/cast002.hex"]).hexdigest()
    # The threads' path (FolderSource.open) refuses them the same way.
    with pytest.raises(OSError, match="resolves outside the delivery"):
        FolderSource(root).open("adcp/ens001.raw")


def test_a_helper_that_dies_costs_only_time(operator_user, cruise, dropbox, processes, monkeypatch, caplog):
    """Helpers that exit at once (``/bin/false`` for the interpreter): their drivers hash the batches."""
    monkeypatch.setattr(sys, "executable", "/bin/false")
    delivery = inventoried(operator_user, cruise, make(dropbox / "RR2402"), "1")
    got = rows(delivery)
    assert len(got) == len(FILES) and all(r[0] == "hashed" for r in got.values())
    assert got["ctd/cast007.hex"][3] == hashlib.sha256(FILES["ctd/cast007.hex"]).hexdigest()
    assert "an inventory helper process failed; hashing its files here" in caplog.text


def test_the_helpers_status_values_are_the_models():
    assert (hashproc.HASHED, hashproc.ERROR) == (InventoryFile.Status.HASHED, InventoryFile.Status.ERROR)


def test_a_lost_lease_stops_the_helpers_and_writes_nothing_more(operator_user, cruise, dropbox, processes):
    """The lease is lost after the scan: hash_pending answers False, no row is written as hashed, and the
    helper processes and their driver threads are gone."""
    import datetime
    import threading

    from apps.deliveries.models import Delivery

    folder = make(dropbox / "RR2403")
    delivery = Delivery.objects.create(cruise=cruise, shipment="1", method="folder", source=str(folder))

    class Lease:
        owner, duration = "test:lease", datetime.timedelta(minutes=5)
        lost = False

    Delivery.objects.filter(pk=delivery.pk).update(lease_owner=Lease.owner)
    source = FolderSource(folder)
    inventory.scan(delivery, source, Lease)
    Lease.lost = True
    before = {t.name for t in threading.enumerate()}
    assert inventory.hash_pending(delivery, source, Lease) is False
    assert not InventoryFile.objects.filter(delivery=delivery, status="hashed").exists()
    for t in threading.enumerate():
        if t.name.startswith("inventory-") and t.name not in before:
            t.join(timeout=10)
            assert not t.is_alive(), t.name


def many_small(count: int) -> dict[str, bytes]:
    files = {
        f"met/{i // 100:02d}/m{i:05d}.csv": f"{i},{i * 7}\n".encode() * (5 + i % 40) for i in range(count)
    }
    files["multibeam/0002.all"] = os.urandom(inventory.SMALL + 999)
    return files


def test_files_hashed_while_the_scan_lists_are_written_once_and_counted_once(
    operator_user, cruise, dropbox, processes, monkeypatch, caplog
):
    """The helpers hash small files while the scan is still listing (``inventory.Early``): every file
    ends hashed with its digests, each row is written by exactly one checkpoint, and the counters add
    up to the delivery (no file counted twice)."""
    files = many_small(900)
    monkeypatch.setattr(inventory, "PROCESS_BATCH", 16)
    writes: list[int] = []
    original = inventory.write_hashed

    def watched(delivery_id, lease, rows, **kwargs):
        writes.extend(row[0] for row in rows)
        return original(delivery_id, lease, rows, **kwargs)

    monkeypatch.setattr(inventory, "write_hashed", watched)
    caplog.set_level("INFO", logger="apps.deliveries.inventory")
    delivery = inventoried(operator_user, cruise, make(dropbox / "RR2404", files), "1")
    early = [r.getMessage() for r in caplog.records if "hashed while the scan listed" in r.getMessage()]
    assert early and int(early[0].split(": ")[1].split()[0]) > 0, early
    assert_hashed(rows(delivery), files)
    assert sorted(writes) == sorted(
        InventoryFile.objects.filter(delivery=delivery).values_list("id", flat=True)
    )
    delivery.refresh_from_db()
    assert (delivery.files_done, delivery.bytes_done) == (len(files), sum(map(len, files.values())))


def test_a_delivery_that_wants_sha1_hashes_the_early_files_again_with_sha1(
    operator_user, cruise, dropbox, processes, monkeypatch
):
    """Whether SHA-1 is wanted is known only after the listing: the rows hashed during it (without SHA-1)
    are dropped and every file ends with its SHA-1."""
    files = many_small(300)
    listing = "".join(f"{hashlib.sha1(d).hexdigest()}  {p}\n" for p, d in sorted(files.items()))
    files["checksums.txt"] = listing.encode()
    monkeypatch.setattr(inventory, "PROCESS_BATCH", 16)
    delivery = inventoried(operator_user, cruise, make(dropbox / "RR2405", files), "1")
    for f in InventoryFile.objects.filter(delivery=delivery):
        assert f.status == "hashed" and f.sha1 == hashlib.sha1(files[f.path]).hexdigest(), f.path
    delivery.refresh_from_db()
    report = {r["path"]: r for r in delivery.manifests}["checksums.txt"]
    assert report["ok"] == len(files) - 1  # every file but the list itself


def test_files_side_by_side_in_md5_lanes_each_get_their_own_row(tmp_path):
    """``hashproc.hash_in_lanes`` (a hashing thread's loop where MD5 runs in lanes): files of every
    awkward size share the lanes; one gone and one shrunk since the listing get their error rows, and the
    files beside them in the lanes are not touched by it."""
    import queue
    import threading

    from apps.storage import md5lanes
    from tests.conftest import require_system

    require_system("the MD5 lanes library", md5lanes.available(), "make install (needs a C compiler, cc)")
    chunk = hashproc.LANE_CHUNK
    sizes = {"empty": 0, "one": 1, "b63": 63, "b64": 64, "b65": 65, "sub/chunk1": chunk + 1}
    sizes |= {"big": 3 * chunk + 17, "gone": 10, "shrunk": 2 * chunk, "sub/last": 5000}
    root = tmp_path / "delivery"
    files = {name: os.urandom(size) for name, size in sizes.items()}
    make(root, files)
    items = [(pk, name, sizes[name]) for pk, name in enumerate(sizes, start=1)]
    (root / "gone").unlink()
    (root / "shrunk").write_bytes(files["shrunk"][:1000])
    work: queue.Queue = queue.Queue()
    for item in [*items, None]:
        work.put(item)
    got: list[tuple] = []
    hashproc.hash_in_lanes(FolderSource(root), work, got.append, sha1=True, stop=threading.Event())
    rows = {row[0]: row for row in got}
    assert len(got) == len(items) == len(rows)
    for pk, name, size in items:
        data = files[name]
        if name == "gone":
            assert rows[pk][4:6] == ("error", "gone: No such file or directory")
        elif name == "shrunk":
            assert rows[pk][4] == "error" and f"listed with {size} bytes, read 1000" in rows[pk][5]
        else:
            digests = (
                hashlib.md5(data).hexdigest(),
                hashlib.sha1(data).hexdigest(),
                hashlib.sha256(data).hexdigest(),
            )
            assert rows[pk] == (pk, *digests, "hashed", "", size), name


def test_without_the_md5_lanes_hashlib_gives_the_same_rows(
    operator_user, cruise, dropbox, processes, monkeypatch
):
    """No C compiler where Quayside was installed: the threads and the helper processes use hashlib."""
    from apps.storage import md5lanes

    monkeypatch.setattr(md5lanes, "_lib", None)
    monkeypatch.setattr(md5lanes, "_tried", True)
    monkeypatch.setenv("QUAYSIDE_MD5_LANES", "0")  # the helper processes load the library themselves
    monkeypatch.setattr(hashproc, "hash_in_lanes", None)  # would fail if called
    files = many_small(200) | {"multibeam/0003.all": os.urandom(3 * inventory.SMALL + 5)}
    delivery = inventoried(operator_user, cruise, make(dropbox / "RR2406", files), "1")
    assert_hashed(rows(delivery), files)
