"""Uploads into a delivery: the ``delivery=<pk>`` target of apps.uploads (tus, and the browser's folder
drop zone). Registered in ``DeliveriesConfig.ready``.

- At creation: the delivery exists, came (or comes) by upload, is still waiting for files, and the
  person may upload to its cruise (its operator's staff, data managers: ``access.can_register_delivery``).
- In the worker: the finished file goes to ``upload_root(delivery) / relativePath`` (checked by
  ``portal.paths`` and ``apps.uploads.paths``: no ``..``, no absolute path, no name that collides after Unicode normalisation
  or case folding, nothing replaced); when it was the delivery's last upload in flight, the inventory starts.
"""

from __future__ import annotations

from pathlib import Path

from apps import access
from apps.uploads import paths, targets
from apps.uploads.services import live_uploads_to
from portal.errors import Conflict, NotFound
from portal.paths import check_relative_path

from .models import Delivery
from .services import start_inventory, upload_root

KIND = "delivery"


def _delivery(target_id: str) -> Delivery:
    if not target_id.isdigit():
        raise NotFound("No such delivery.")
    delivery = Delivery.objects.select_related("cruise").filter(pk=int(target_id)).first()
    if delivery is None:
        raise NotFound("No such delivery.")
    return delivery


def check(user, target_id: str, fields: dict) -> None:
    delivery = _delivery(target_id)
    access.require_delivery_registrar(user, delivery.cruise)
    if delivery.method != Delivery.Method.UPLOAD:
        raise Conflict(
            f"Shipment {delivery.shipment} arrives by {delivery.get_method_display().lower()}, not by upload."
        )
    if delivery.state != Delivery.State.REGISTERED:
        raise Conflict(
            f"Shipment {delivery.shipment} is {delivery.get_state_display().lower()}: it takes no more files."
        )
    if fields.get("relative_path"):
        check_relative_path(fields["relative_path"])


def place(upload, path: Path) -> str:
    delivery = _delivery(upload.target_id)
    final = paths.place(path, upload_root(delivery), upload.relative_path)
    if not live_uploads_to(KIND, upload.target_id, besides=upload).exists():
        start_inventory(delivery)
    return f"{delivery} / {final.relative_to(upload_root(delivery)).as_posix()}"


def label(target_id: str) -> str:
    delivery = (
        Delivery.objects.select_related("cruise").filter(pk=int(target_id)).first()
        if target_id.isdigit()
        else None
    )
    return f"delivery {delivery}" if delivery else f"delivery {target_id}"


def register() -> None:
    targets.register(KIND, check=check, place=place, label=label)
