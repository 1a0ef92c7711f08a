"""A cruise's end-of-cruise delivery (an R2R "shipment") and its file-level inventory.

A delivery arrives one of three ways — a drop folder or S3 prefix the server reads in place, files uploaded
with tus, or a folder dropped in the browser (tus too) — and becomes one ``Delivery`` with one
``InventoryFile`` row per file. The worker hashes the files (MD5, SHA-1, SHA-256 in one read) and fills the
rows; the delivery's counters are its live progress.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Delivery(models.Model):
    class Method(models.TextChoices):
        FOLDER = "folder", "Drop folder"
        S3 = "s3", "S3 prefix"
        UPLOAD = "upload", "Upload (tus)"

    class State(models.TextChoices):
        REGISTERED = "registered", "Registered"  # waiting for files (uploads) or for the worker
        INVENTORYING = "inventorying", "Inventorying"
        INVENTORIED = "inventoried", "Inventoried"
        FAILED = "failed", "Failed"

    cruise = models.ForeignKey("cruises.Cruise", on_delete=models.PROTECT, related_name="deliveries")
    shipment = models.CharField(max_length=100, help_text="The operator's shipment id, unique per cruise.")
    method = models.CharField(max_length=10, choices=Method.choices)
    source = models.CharField(
        max_length=1000, blank=True, help_text="The drop folder or s3://bucket/prefix the worker reads."
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.REGISTERED, db_index=True)
    files_total = models.PositiveIntegerField(default=0)
    bytes_total = models.BigIntegerField(default=0)
    files_done = models.PositiveIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="Refused paths, manifest mismatches, …")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["cruise", "shipment"], name="uniq_delivery_shipment")]

    def __str__(self) -> str:
        return f"{self.cruise.cruise_id} shipment {self.shipment}"


class InventoryFile(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="files")
    path = models.TextField(help_text="Relative to the delivery root, '/'-separated, NFC.")
    size = models.BigIntegerField()
    modified_at = models.DateTimeField(null=True, blank=True)
    md5 = models.CharField(max_length=32, blank=True)
    sha1 = models.CharField(max_length=40, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    hashed_at = models.DateTimeField(null=True, blank=True)
    instrument_class = models.CharField(max_length=40, blank=True, db_index=True)

    class Meta:
        ordering = ["path"]
        constraints = [models.UniqueConstraint(fields=["delivery", "path"], name="uniq_inventory_path")]

    def __str__(self) -> str:
        return self.path
