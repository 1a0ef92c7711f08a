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


def make(root):
    for name, data in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


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
    for name, data in FILES.items():
        assert got[name] == (
            "hashed",
            len(data),
            hashlib.md5(data).hexdigest(),
            hashlib.sha256(data).hexdigest(),
            "",
        )


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
