"""The deep-storage copy of a delivery during its hold: copied, verified against the inventory, damage
detected; restores of a file, a folder or the delivery on request, verified and audited."""

import datetime
import hashlib

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.distributions import deep, tasks
from apps.distributions.models import DeepCopy, RestoreRequest
from apps.holds import services as holds
from apps.storage import services as storage
from apps.storage.models import Blob, blob_key
from portal.errors import Forbidden, UserError
from tests.cruises.helpers import approve_cruise

pytestmark = pytest.mark.django_db


def _copied(delivery) -> DeepCopy:
    copy = deep.request_copy(delivery)
    assert deep.copy_delivery(copy.pk) == DeepCopy.State.VERIFIED
    copy.refresh_from_db()
    return copy


def test_a_held_cruise_s_delivery_is_copied_to_deep_storage_and_verified(
    delivery, operator_user, chief_scientist, client
):
    assert not deep.copies_due().exists()  # no hold: nothing to copy yet
    approve_cruise(delivery.cruise, operator_user, chief_scientist)
    holds.assert_hold(
        delivery.cruise,
        chief_scientist,
        ends_on=timezone.now().date() + datetime.timedelta(days=9),
        reason="thesis",
    )
    assert list(deep.copies_due()) == [delivery]
    assert tasks.deep_copy_sweep() == 1  # the sweep asks for it (the task runs after commit in the worker)
    copy = DeepCopy.objects.get(delivery=delivery)
    assert deep.copy_delivery(copy.pk) == DeepCopy.State.VERIFIED
    copy.refresh_from_db()
    total = delivery.files.count()
    assert (copy.files_total, copy.files_copied, copy.files_verified) == (total, total, total)
    assert copy.last_check_ok and copy.cursor == delivery.files.order_by("-pk").first().pk
    for row in delivery.files.all():
        with storage.deep().open(blob_key(row.sha256), "rb") as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == row.sha256
    assert deep.copy_delivery(copy.pk) == "taken"  # done: a re-delivered task does nothing
    page = client.get(f"/cruises/{delivery.cruise.pk}/")
    assert f"{total} of {total} files copied, {total} verified".encode() in page.content


def test_a_damaged_deep_copy_is_detected(delivery):
    _copied(delivery)
    victim = delivery.files.get(path="ctd/SBE911/cast002/cast002.hex")
    damaged = storage.deep().path(blob_key(victim.sha256))
    with open(damaged, "r+b") as fh:
        fh.write(b"X")
    problems = deep.verify_copy(delivery)
    assert len(problems) == 1 and problems[0].startswith(
        "ctd/SBE911/cast002/cast002.hex: reads back as SHA-256 "
    )
    copy = DeepCopy.objects.get(delivery=delivery)
    assert copy.state == DeepCopy.State.FAILED and copy.last_check_ok is False
    assert AuditEvent.objects.filter(service_method="verifyDeepCopy", category="error").exists()


def test_a_copy_that_reads_back_wrong_is_removed_and_reported(delivery):
    row = delivery.files.get(path="README.txt")
    InventoryFile = type(row)
    InventoryFile.objects.filter(pk=row.pk).update(sha256="0" * 64)  # the inventory says otherwise
    copy = deep.request_copy(delivery)
    assert deep.copy_delivery(copy.pk) == DeepCopy.State.FAILED
    copy.refresh_from_db()
    assert len(copy.errors) == 1 and copy.errors[0].startswith("README.txt: the deep copy reads back as")
    assert not storage.deep().exists(blob_key("0" * 64))


def test_restore_a_file_and_a_folder_on_request(delivery, chief_scientist, data_manager, settings, tmp_path):
    settings.DISTRIBUTION_RESTORE_DIR = tmp_path / "restores"
    _copied(delivery)
    one = deep.request_restore(delivery, chief_scientist, scope="file", path="adcp/OS75/os75_001.ENR")
    deep.approve_restore(one, data_manager)
    assert deep.run_restore(one.pk) == RestoreRequest.State.DONE
    one.refresh_from_db()
    restored = deep.restore_folder(one) / "adcp/OS75/os75_001.ENR"
    assert restored.read_bytes() == b"enr adcp 75" and one.files_restored == 1

    folder = deep.request_restore(
        delivery, chief_scientist, scope="folder", path="ctd/SBE911", target="primary"
    )
    deep.approve_restore(folder, data_manager)
    assert deep.run_restore(folder.pk) == RestoreRequest.State.DONE
    folder.refresh_from_db()
    assert folder.files_restored == 4 and folder.destination == "primary storage"
    for row in delivery.files.filter(path__startswith="ctd/SBE911/"):
        assert Blob.objects.filter(sha256=row.sha256).exists()
    methods = set(AuditEvent.objects.filter(service="distributions").values_list("service_method", flat=True))
    assert {"requestRestore", "approveRestore", "restore"} <= methods


def test_a_restore_from_a_damaged_copy_fails_verification(
    delivery, operator_user, data_manager, settings, tmp_path
):
    settings.DISTRIBUTION_RESTORE_DIR = tmp_path / "restores"
    _copied(delivery)
    row = delivery.files.get(path="README.txt")
    with open(storage.deep().path(blob_key(row.sha256)), "wb") as fh:
        fh.write(b"tampered")
    restore = deep.request_restore(delivery, operator_user, scope="delivery")
    deep.approve_restore(restore, data_manager)
    assert deep.run_restore(restore.pk) == RestoreRequest.State.FAILED
    restore.refresh_from_db()
    assert "README.txt: restored bytes have SHA-256" in restore.message
    assert restore.files_restored == delivery.files.count() - 1
    assert not (deep.restore_folder(restore) / "README.txt").exists()  # set aside as .corrupt


def test_who_may_ask_for_and_carry_out_restores(delivery, shipboard_staff, chief_scientist, operator_user):
    with pytest.raises(Forbidden):
        deep.request_restore(delivery, shipboard_staff, scope="delivery")
    with pytest.raises(UserError):
        deep.request_restore(delivery, chief_scientist, scope="folder", path="no/such/folder")
    restore = deep.request_restore(delivery, chief_scientist, scope="delivery")
    with pytest.raises(Forbidden):
        deep.approve_restore(restore, operator_user)
    with pytest.raises(Forbidden):
        deep.request_copy(delivery, user=operator_user)


def test_a_copy_taken_over_after_a_killed_worker_resumes_at_its_cursor(delivery):
    rows = list(delivery.files.order_by("pk"))
    copy = DeepCopy.objects.create(
        delivery=delivery,
        state=DeepCopy.State.COPYING,
        cursor=rows[4].pk,
        files_copied=5,
        files_verified=5,
        lease_owner="dead-worker",
        lease_until=timezone.now() - datetime.timedelta(seconds=1),  # lapsed
    )
    assert deep.copy_delivery(copy.pk) == DeepCopy.State.VERIFIED
    copy.refresh_from_db()
    assert copy.files_copied == len(rows) and copy.lease_owner == ""
    # Only the rows after the cursor were copied by this run (the first five were the dead worker's).
    assert not storage.deep().exists(blob_key(rows[0].sha256))
    assert all(storage.deep().exists(blob_key(r.sha256)) for r in rows[5:])


@pytest.fixture
def s3_delivery(db, science_cruise, seaweed, settings, tmp_path):
    """The same tree delivered as an S3 prefix (SeaweedFS on loopback), inventoried."""
    import uuid

    from apps.deliveries.models import Delivery

    from .conftest import TREE, inventory, make_drop

    bucket = f"qs-s3dlv-{uuid.uuid4().hex[:8]}"
    seaweed.create_bucket(bucket)
    settings.DELIVERY_S3_ENDPOINT_URL = seaweed.endpoint
    settings.DELIVERY_S3_ACCESS_KEY = seaweed.access_key
    settings.DELIVERY_S3_SECRET_KEY = seaweed.secret_key
    client = seaweed.client()
    for path, data in TREE.items():
        client.put_object(Bucket=bucket, Key=f"incoming/S1/{path}", Body=data)
    found = Delivery.objects.create(
        cruise=science_cruise, shipment="S1", method=Delivery.Method.S3, source=f"s3://{bucket}/incoming/S1"
    )
    inventory(found, make_drop(tmp_path / "digests"))  # the rows: paths and digests of the same bytes
    return found, client, bucket


def test_an_s3_delivery_is_copied_to_deep_storage_and_exported_as_a_bag(s3_delivery, tmp_path):
    """Deep copies and bag exports read an S3-prefix delivery through the same source as the inventory."""
    from apps.distributions import bag

    delivery, client, bucket = s3_delivery
    copy = deep.request_copy(delivery)
    assert deep.copy_delivery(copy.pk) == DeepCopy.State.VERIFIED
    for row in delivery.files.all():
        with storage.deep().open(blob_key(row.sha256), "rb") as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == row.sha256
    # An object removed from the bucket after the copy: the bag takes its bytes from the deep copy.
    client.delete_object(Bucket=bucket, Key="incoming/S1/README.txt")
    row = delivery.files.get(path="README.txt")
    member = next(m for m in bag.members(delivery.cruise) if m.name.endswith("/README.txt"))
    assert b"".join(member.chunks()) == b"delivered by the operator\n" and member.size == row.size
