"""``manage.py deliver``: registers, follows the inventory, prints one JSON line; S3 prefixes read with boto3."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from django.core.management import call_command

from apps.deliveries.models import Delivery, InventoryFile

from .helpers import TREE, make_tree, md5deep_manifest

pytestmark = pytest.mark.django_db


def deliver(*args) -> tuple[dict, str, int]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("deliver", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1, out.getvalue()
    return json.loads(lines[0]), err.getvalue(), code


def test_deliver_waits_and_prints_one_json_line(cruise, dropbox, settings):
    settings.SITE_BASE_URL = "https://quayside.example"
    root = make_tree(dropbox / "cmd")
    md5deep_manifest(root)
    result, progress, code = deliver(cruise.cruise_id, str(root), "--shipment", "S-1", "--wait", "--here")
    assert code == 0
    delivery = Delivery.objects.get(cruise=cruise, shipment="S-1")
    assert result["shipment"] == "S-1" and result["state"] == "inventoried"
    assert result["files"] == len(TREE) + 1 and result["bytes"] == delivery.bytes_done
    assert result["inventory_url"] == f"https://quayside.example/deliveries/{delivery.pk}/"
    assert result["hashdeep_url"].startswith("https://quayside.example/deliveries/")
    assert result["errors"] == [] and result["manifests"][0]["mismatched"] == 0
    assert "inventoried:" in progress


def test_deliver_refuses_a_folder_outside_the_allowed_roots(cruise, dropbox):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="allowed drop-folder root"):
        call_command("deliver", cruise.cruise_id, "/etc", stdout=io.StringIO(), stderr=io.StringIO())


def test_an_s3_prefix_is_inventoried_and_a_failed_one_exits_non_zero(cruise, dropbox, seaweed, settings):
    bucket = f"qs-dlv-{uuid.uuid4().hex[:8]}"
    seaweed.create_bucket(bucket)
    settings.DELIVERY_ALLOWED_ROOTS = [f"s3://{bucket}/incoming", f"s3://missing-{bucket}"]
    settings.DELIVERY_S3_ENDPOINT_URL = seaweed.endpoint
    settings.DELIVERY_S3_ACCESS_KEY = seaweed.access_key
    settings.DELIVERY_S3_SECRET_KEY = seaweed.secret_key
    client = seaweed.client()
    for path, data in TREE.items():
        client.put_object(Bucket=bucket, Key=f"incoming/RR/{path}", Body=data)
    client.put_object(
        Bucket=bucket, Key="incoming/RR/CTD/cast001.hex", Body=b"collides with ctd/ after case folding"
    )
    result, _, code = deliver(cruise.cruise_id, f"s3://{bucket}/incoming/RR", "--wait", "--here")
    assert code == 0 and result["state"] == "inventoried"
    delivery = Delivery.objects.get(cruise=cruise, shipment=result["shipment"])
    refused = {r["path"]: r["reason"] for r in delivery.refused}
    assert "case folding" in refused["CTD/cast001.hex"] and "case folding" in refused["ctd/cast001.hex"]
    assert result["files"] == len(TREE) - 1
    row = InventoryFile.objects.get(delivery=delivery, path="nav/gps.nmea")
    import hashlib

    assert row.md5 == hashlib.md5(TREE["nav/gps.nmea"]).hexdigest()

    result, _, code = deliver(cruise.cruise_id, f"s3://missing-{bucket}/x", "--wait", "--here")
    assert code == 1 and result["state"] == "failed" and result["errors"]
