"""``manage.py deliver CRUISE_ID PATH_OR_S3_URL [--shipment ID] [--wait] [--here]``: register a drop folder
or S3 prefix as a shipment of a cruise and queue its inventory.

With ``--wait`` it follows the inventory (progress on stderr) and ends by printing one JSON line on stdout:
``shipment``, ``files``, ``bytes``, ``state``, ``inventory_url``, ``hashdeep_url``, ``errors`` (and the
refused paths and manifest counts); the exit status is 1 when the delivery failed. ``--here`` runs the
inventory in this process instead of the worker (a laptop without a worker running)."""

from __future__ import annotations

import json
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from apps.cruises.models import Cruise
from apps.deliveries import services
from apps.deliveries.api.views import delivery_json
from apps.deliveries.models import Delivery
from portal.errors import QuaysideError
from portal.tasks import new_owner


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return str(n)


class Command(BaseCommand):
    help = "Register a drop folder or S3 prefix as a cruise's delivery (shipment) and inventory it."

    def add_arguments(self, parser):
        parser.add_argument("cruise_id", help="The cruise id (e.g. RR2401) or its number in Quayside.")
        parser.add_argument("source", help="An absolute folder path or s3://bucket/prefix")
        parser.add_argument("--shipment", default="", help="The shipment id (default: the next number).")
        parser.add_argument("--wait", action="store_true", help="Follow the inventory; print one JSON line.")
        parser.add_argument("--here", action="store_true", help="Run the inventory in this process.")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between progress lines.")

    def handle(self, *args, cruise_id, source, shipment, wait, here, interval, **options):
        cruise = Cruise.objects.filter(cruise_id=cruise_id).order_by("-created_at").first()
        if cruise is None and cruise_id.isdigit():
            cruise = Cruise.objects.filter(pk=int(cruise_id)).first()
        if cruise is None:
            raise CommandError(f"No cruise {cruise_id}.")
        try:
            # No user: the command line is the server's own operators (whoever runs manage.py).
            delivery = services.register_delivery(None, cruise, source, shipment=shipment)
        except QuaysideError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(
            f"{cruise.cruise_id} shipment {delivery.shipment} registered (delivery {delivery.pk})."
        )
        if here:
            services.run_inventory(delivery.pk, owner=new_owner())
        if not (wait or here):
            return
        delivery = self._follow(delivery, interval)
        result = delivery_json(delivery, None)
        line = {
            key: result[key]
            for key in (
                "shipment",
                "files",
                "bytes",
                "state",
                "inventory_url",
                "hashdeep_url",
                "csv_url",
                "errors",
            )
        }
        line["cruise_id"] = cruise.cruise_id
        line["refused"] = len(delivery.refused)
        line["manifests"] = [{"path": m["path"], "ok": m["ok"], **m["counts"]} for m in delivery.manifests]
        self.stdout.write(json.dumps(line))
        if delivery.state == Delivery.State.FAILED:
            sys.exit(1)

    def _follow(self, delivery: Delivery, interval: float) -> Delivery:
        last = None
        while True:
            delivery.refresh_from_db()
            p = delivery.progress()
            line = (
                f"{p['state']}: {p['files_done']}/{p['files_total']} files, "
                f"{_size(p['bytes_done'])}/{_size(p['bytes_total'])}"
            )
            if p["bytes_per_second"]:
                line += f", {_size(p['bytes_per_second'])}/s, {p['seconds_left']} s left"
            if line != last:
                self.stderr.write(line)
                last = line
            if delivery.finished:
                return delivery
            time.sleep(interval)
