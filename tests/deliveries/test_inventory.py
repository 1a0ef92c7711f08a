"""A delivery's inventory: registering a drop folder, path safety, manifests, the hashdeep export audited by
the real ``hashdeep``, and the diff against the previous shipment."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess

import pytest

from apps.deliveries import services
from apps.deliveries.models import Delivery, InventoryFile
from portal.errors import Forbidden, UserError
from tests.conftest import require_system

from .helpers import TREE, make_tree, md5deep_manifest

pytestmark = pytest.mark.django_db


def inventory(user, cruise, folder, shipment="") -> Delivery:
    delivery = services.register_delivery(user, cruise, str(folder), shipment=shipment)
    assert services.run_inventory(delivery.pk, owner="test:host:1") == "done"
    delivery.refresh_from_db()
    return delivery


def refused(delivery) -> dict[str, str]:
    return {r["path"]: r["reason"] for r in delivery.refused}


def test_a_drop_folder_is_inventoried_with_md5_and_sha256_per_file(operator_user, cruise, dropbox):
    delivery = inventory(operator_user, cruise, make_tree(dropbox / "RR2401"))
    assert delivery.state == Delivery.State.INVENTORIED
    assert delivery.files_total == delivery.files_done == len(TREE)
    assert delivery.bytes_done == sum(len(d) for d in TREE.values())
    row = InventoryFile.objects.get(delivery=delivery, path="ctd/cast001.hex")
    data = TREE["ctd/cast001.hex"]
    # No manifest of this delivery gives SHA-1, so the pass leaves it out (it costs a quarter more).
    assert (row.size, row.md5, row.sha1, row.sha256) == (
        len(data),
        hashlib.md5(data).hexdigest(),
        "",
        hashlib.sha256(data).hexdigest(),
    )
    assert row.modified_at is not None and row.status == "hashed"
    assert delivery.progress()["percent"] == 100.0
    assert delivery.shipment == "1"


def test_only_folders_under_the_allowed_roots_are_read(operator_user, cruise, dropbox, plain_user):
    with pytest.raises(UserError, match="allowed drop-folder root"):
        services.register_delivery(operator_user, cruise, "/etc")
    os.symlink("/etc", dropbox / "sneaky")
    with pytest.raises(UserError, match="allowed drop-folder root"):
        services.register_delivery(operator_user, cruise, str(dropbox / "sneaky"))
    with pytest.raises(UserError, match="allowed drop-folder root"):
        services.register_delivery(operator_user, cruise, str(dropbox / ".." / ".."))
    with pytest.raises(Forbidden):
        services.register_delivery(plain_user, cruise, str(make_tree(dropbox / "x")))


def test_a_good_manifest_checks_every_file(operator_user, cruise, dropbox):
    root = make_tree(dropbox / "good")
    md5deep_manifest(root)
    delivery = inventory(operator_user, cruise, root)
    (report,) = delivery.manifests
    assert report["format"] == "md5deep" and report["path"] == "md5deep.txt"
    assert report["ok"] == len(TREE)
    assert report["counts"] == {"mismatched": 0, "missing": 0, "extra": 0, "refused": 0}
    assert set(InventoryFile.objects.filter(delivery=delivery).values_list("manifest_check", flat=True)) == {
        "ok",
        "",  # the manifest itself
    }


def test_a_wrong_checksum_a_missing_file_an_extra_file_and_a_traversal_path_are_reported(
    operator_user, cruise, dropbox
):
    root = make_tree(dropbox / "bad")
    manifest = md5deep_manifest(root)
    lines = manifest.read_text().splitlines()
    lines[0] = "0" * 32 + lines[0][32:]  # README.txt: a wrong checksum
    lines.append(hashlib.md5(b"x").hexdigest() + "  ./met/missing.csv")
    lines.append(hashlib.md5(b"x").hexdigest() + "  ../../etc/passwd")
    manifest.write_text("\n".join(lines) + "\n")
    (root / "stray.tmp").write_bytes(b"not in the manifest")
    delivery = inventory(operator_user, cruise, root)
    (report,) = delivery.manifests
    assert [m["path"] for m in report["mismatched"]] == ["README.txt"]
    assert "md5: expected 000" in report["mismatched"][0]["problem"]
    assert report["missing"] == ["met/missing.csv"]
    assert report["extra"] == ["stray.tmp"]
    assert report["refused"] == [
        {"path": "../../etc/passwd", "reason": "'..', '.' or an empty segment in the path"}
    ]
    assert InventoryFile.objects.get(delivery=delivery, path="README.txt").manifest_check == "mismatch"
    assert InventoryFile.objects.get(delivery=delivery, path="stray.tmp").manifest_check == "unlisted"


def test_hashdeep_and_bagit_manifests_are_read(operator_user, cruise, dropbox):
    root = make_tree(dropbox / "hd")
    lines = ["%%%% HASHDEEP-1.0", "%%%% size,md5,sha256,filename", "## Invoked from: /mnt", "## "]
    for path, data in sorted(TREE.items()):
        sha = hashlib.sha256(data).hexdigest() if path != "ctd/cast002.hex" else "f" * 64
        lines.append(f"{len(data)},{hashlib.md5(data).hexdigest()},{sha},/mnt/drive/RR2401/{path}")
    (root / "inventory.hashdeep").write_text("\n".join(lines) + "\n")
    bag = root / "docs-bag"
    (bag / "data").mkdir(parents=True)
    (bag / "data" / "report.pdf").write_bytes(b"%PDF report")
    (bag / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    (bag / "manifest-sha256.txt").write_text(
        f"{hashlib.sha256(b'%PDF report').hexdigest()}  data/report.pdf\n"
    )
    delivery = inventory(operator_user, cruise, root)
    reports = {r["path"]: r for r in delivery.manifests}
    assert reports["inventory.hashdeep"]["format"] == "hashdeep"
    assert [m["path"] for m in reports["inventory.hashdeep"]["mismatched"]] == ["ctd/cast002.hex"]
    assert "docs-bag/data/report.pdf" in reports["inventory.hashdeep"]["extra"]
    bagit = reports["docs-bag/manifest-sha256.txt"]
    assert (bagit["format"], bagit["ok"], bagit["extra"], bagit["missing"]) == ("bagit", 1, [], [])


@pytest.mark.parametrize("kind", ["bagit", "sha1sum"])
def test_a_sha1_manifest_makes_the_inventory_compute_and_check_sha1(operator_user, cruise, dropbox, kind):
    root = make_tree(dropbox / f"sha1-{kind}")
    wrong = "ctd/cast002.hex"
    digests = {p: (hashlib.sha1(d).hexdigest() if p != wrong else "0" * 40) for p, d in TREE.items()}
    if kind == "bagit":
        bag = root / "bag"
        for path, data in TREE.items():
            (bag / "data" / path).parent.mkdir(parents=True, exist_ok=True)
            (bag / "data" / path).write_bytes(data)
        (bag / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
        listing, manifest = (
            "".join(f"{d}  data/{p}\n" for p, d in sorted(digests.items())),
            "bag/manifest-sha1.txt",
        )
        (bag / "manifest-sha1.txt").write_text(listing)
        wrong_path = f"bag/data/{wrong}"
    else:  # sha1sum's output under a name the manifest finder knows; the 40-hex digests say SHA-1
        (root / "checksums.txt").write_text("".join(f"{d}  {p}\n" for p, d in sorted(digests.items())))
        manifest, wrong_path = "checksums.txt", wrong
    delivery = inventory(operator_user, cruise, root)
    row = InventoryFile.objects.get(delivery=delivery, path=wrong_path)
    assert row.sha1 == hashlib.sha1(TREE[wrong]).hexdigest()
    report = {r["path"]: r for r in delivery.manifests}[manifest]
    assert report["ok"] == len(TREE) - 1
    assert [m["path"] for m in report["mismatched"]] == [wrong_path]
    assert report["mismatched"][0]["problem"].startswith("sha1: expected 0000")


def test_unsafe_paths_are_refused_and_the_rest_proceeds(operator_user, cruise, dropbox, tmp_path):
    root = make_tree(dropbox / "unsafe")
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    os.symlink(outside, root / "link-out")
    os.symlink(root / "README.txt", root / "link-in")
    os.link(outside, root / "hardlink-out")
    os.mkfifo(root / "pipe")
    (root / "ctd" / "Cast001.HEX").write_bytes(b"same name, other case")
    (root / "nav" / "caf\u00e9.txt").write_bytes(b"nfc")
    (root / "nav" / "cafe\u0301.txt").write_bytes(b"nfd")
    (root / "bad\nname").write_bytes(b"newline")
    delivery = inventory(operator_user, cruise, root)
    reasons = refused(delivery)
    assert "points out of the delivery" in reasons["link-out"]
    assert "symbolic link" in reasons["link-in"]
    assert "hard link" in reasons["hardlink-out"]
    assert "FIFO" in reasons["pipe"]
    assert "Unicode normalisation and case folding" in reasons["ctd/Cast001.HEX"]
    assert "Unicode normalisation and case folding" in reasons["ctd/cast001.hex"]
    assert "Unicode normalisation" in reasons["nav/caf\u00e9.txt"]
    assert "control character" in reasons["bad\nname"]
    paths = set(InventoryFile.objects.filter(delivery=delivery).values_list("path", flat=True))
    assert paths == set(TREE) - {"ctd/cast001.hex"}
    assert delivery.state == Delivery.State.INVENTORIED and not delivery.errors


def test_a_hard_link_inside_the_delivery_is_kept(operator_user, cruise, dropbox):
    root = make_tree(dropbox / "links")
    os.link(root / "README.txt", root / "README-copy.txt")
    delivery = inventory(operator_user, cruise, root)
    assert not delivery.refused
    assert InventoryFile.objects.filter(delivery=delivery, path="README-copy.txt").exists()


def test_the_hashdeep_export_passes_the_real_hashdeep_audit(operator_user, cruise, dropbox, tmp_path):
    require_system("hashdeep", shutil.which("hashdeep") is not None, "apt-get install hashdeep")
    files = {**TREE, "met/wind, gusts.csv": b"a name with a comma and a space\n", "nav/caf\u00e9.txt": b"nfc"}
    root = make_tree(dropbox / "audit", files)
    delivery = inventory(operator_user, cruise, root)
    known = tmp_path / "inventory.txt"
    known.write_text("".join(services.hashdeep_lines(delivery)))
    audit = subprocess.run(
        ["hashdeep", "-a", "-k", str(known), "-r", "-l", "."], cwd=root, capture_output=True, text=True
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "Audit passed" in audit.stdout
    (root / "ctd" / "cast001.hex").write_bytes(b"changed")
    audit = subprocess.run(
        ["hashdeep", "-a", "-k", str(known), "-r", "-l", "."], cwd=root, capture_output=True, text=True
    )
    assert audit.returncode != 0 and "Audit failed" in audit.stdout


def test_a_second_shipment_shows_what_changed(operator_user, cruise, dropbox):
    first = inventory(operator_user, cruise, make_tree(dropbox / "s1"))
    files = dict(TREE)
    del files["README.txt"]
    files["ctd/cast002.hex"] = b"reprocessed"
    files["met/met.csv"] = b"wind,10\n"
    second = inventory(operator_user, cruise, make_tree(dropbox / "s2", files), shipment="2-final")
    diff = services.diff(second)
    assert diff.base == first
    assert [f.path for f in diff.added] == ["met/met.csv"]
    assert [f.path for f in diff.removed] == ["README.txt"]
    assert [f.path for f in diff.changed] == ["ctd/cast002.hex"]
    assert services.diff(first).base is None


def test_a_shipment_id_is_unique_per_cruise(operator_user, cruise, dropbox):
    root = make_tree(dropbox / "dup")
    services.register_delivery(operator_user, cruise, str(root), shipment="A")
    from portal.errors import Conflict

    with pytest.raises(Conflict):
        services.register_delivery(operator_user, cruise, str(root), shipment="A")


def test_an_upload_delivery_has_its_own_root(operator_user, cruise, dropbox):
    delivery = services.register_upload(operator_user, cruise)
    root = services.upload_root(delivery)
    assert root.is_dir() and root.name == str(delivery.pk)
    make_tree(root)
    services.start_inventory(delivery)
    assert services.run_inventory(delivery.pk) == "done"
    delivery.refresh_from_db()
    assert delivery.files_done == len(TREE)


def test_the_sweep_resends_a_lost_inventory_and_one_whose_worker_died(
    operator_user, cruise, dropbox, monkeypatch
):
    import datetime

    from django.utils import timezone

    from apps.deliveries import tasks

    sent = []
    monkeypatch.setattr("portal.tasks.send", lambda task, *args, **kw: sent.append(args) or True)
    lost = services.register_delivery(operator_user, cruise, str(make_tree(dropbox / "lost")))
    died = services.register_delivery(operator_user, cruise, str(make_tree(dropbox / "died")))
    fresh = services.register_delivery(operator_user, cruise, str(make_tree(dropbox / "fresh")))
    past = timezone.now() - datetime.timedelta(minutes=10)
    Delivery.objects.filter(pk=lost.pk).update(requested_at=past)
    Delivery.objects.filter(pk=died.pk).update(state="inventorying", lease_owner="x:h:1", lease_until=past)
    assert tasks.sweep_inventories() == 2
    assert sorted(sent) == [(lost.pk,), (died.pk,)] and fresh.pk not in {s[0] for s in sent}


def test_the_quick_manifest_name_test_agrees_with_the_pattern():
    """``manifests.is_candidate`` (asked of every listed file) tests four words before the pattern: it
    never disagrees with ``CANDIDATE``, in any case, and leaves out files too large to be read."""
    from apps.deliveries import manifests

    names = [
        "manifest-md5.txt", "bag/MANIFEST-SHA256.TXT", "bag/manifest-sha9.txt", "cruise.MD5", "x/HashDeep.txt",
        "RR2404_md5deep.txt", "md5sums", "docs/Checksums.csv", "checksums/readme.txt", "md5/data.bin",
        "notes.txt", "hashes.txt", "a.hashdeep", "ctd/cast001.hex",
    ]  # fmt: skip
    for name in names:
        assert manifests.is_candidate(name, 10) == bool(manifests.CANDIDATE.search(name)), name
    assert [n for n in names if manifests.is_candidate(n, 10)] == [
        "manifest-md5.txt", "bag/MANIFEST-SHA256.TXT", "cruise.MD5", "x/HashDeep.txt", "RR2404_md5deep.txt",
        "md5sums", "docs/Checksums.csv", "a.hashdeep",
    ]  # fmt: skip
    assert not manifests.is_candidate("manifest-md5.txt", manifests.MAX_MANIFEST_BYTES + 1)


def test_rows_are_read_window_by_window_and_only_the_deliverys_own(cruise, monkeypatch):
    """``InventoryFile.by_window``: windows of primary keys, with another delivery's rows between
    them (two scans at once), give exactly this delivery's matching rows, in id order."""
    monkeypatch.setattr(InventoryFile, "WINDOW", 3)
    a = Delivery.objects.create(cruise=cruise, shipment="a", method="folder", source="/nowhere/a")
    b = Delivery.objects.create(cruise=cruise, shipment="b", method="folder", source="/nowhere/b")
    for i in range(10):
        InventoryFile.objects.create(delivery=a, path=f"a{i}", size=i)
        InventoryFile.objects.create(delivery=b, path=f"b{i}", size=i)
    assert list(InventoryFile.by_window(a.pk, "path", size__gte=4)) == [(f"a{i}",) for i in range(4, 10)]
    assert len(list(InventoryFile.by_window(b.pk, "id"))) == 10
    empty = Delivery.objects.create(cruise=cruise, shipment="c", method="folder", source="/nowhere/c")
    assert list(InventoryFile.by_window(empty.pk, "id")) == []


def test_a_resumed_inventory_finds_a_sha1_list_among_the_listed_rows(
    operator_user, cruise, dropbox, monkeypatch
):
    """A worker stopped after the listing: the next one has no scan to tell it which files may be
    manifests, finds them in the rows (several windows here) and still computes and checks SHA-1."""
    import datetime

    from apps.deliveries import inventory as engine
    from apps.deliveries.sources import FolderSource

    monkeypatch.setattr(InventoryFile, "WINDOW", 4)
    root = make_tree(dropbox / "resumed")
    (root / "checksums.txt").write_text(
        "".join(f"{hashlib.sha1(d).hexdigest()}  {p}\n" for p, d in sorted(TREE.items()))
    )
    delivery = services.register_delivery(operator_user, cruise, str(root))

    class Lease:
        owner, duration, lost = "test:host:1", datetime.timedelta(minutes=5), False

    Delivery.objects.filter(pk=delivery.pk).update(lease_owner=Lease.owner)
    assert ("checksums.txt", "") in engine.scan(delivery, FolderSource(root), Lease)
    assert services.run_inventory(delivery.pk, owner=Lease.owner) == "done"
    delivery.refresh_from_db()
    for path, data in TREE.items():
        assert InventoryFile.objects.get(delivery=delivery, path=path).sha1 == hashlib.sha1(data).hexdigest()
    assert {r["path"]: r for r in delivery.manifests}["checksums.txt"]["ok"] == len(TREE)
