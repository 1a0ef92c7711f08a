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
    errors = models.JSONField(
        default=list,
        blank=True,
        help_text="What went wrong as a whole (source unreadable, …): a list of strings.",
    )
    # Each refused path: {"path": ..., "reason": ...}; the rest of the delivery proceeds without it.
    refused = models.JSONField(default=list, blank=True)
    # The manifests found in the delivery and what checking them found (services.check_manifests):
    # [{"path", "format", "entries", "checked", "mismatched": [...], "missing": [...], "extra": [...]}].
    manifests = models.JSONField(default=list, blank=True)
    scanned = models.BooleanField(default=False, help_text="The file list is in (hashing may be under way).")
    # The inventory's claim (portal.tasks.claim): a worker holds it while it scans and hashes.
    lease_owner = models.CharField(max_length=120, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # The current run, for the rate and the time left (a resumed run starts a new one).
    run_started_at = models.DateTimeField(null=True, blank=True)
    run_bytes_start = models.BigIntegerField(default=0)
    notified_at = models.DateTimeField(null=True, blank=True)
    # When the inventory was last asked for (start_inventory): the sweep re-sends it if no worker took it.
    requested_at = models.DateTimeField(null=True, blank=True)
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

    @property
    def finished(self) -> bool:
        return self.state in (self.State.INVENTORIED, self.State.FAILED)

    def progress(self) -> dict:
        """Files and bytes done, the rate of the current run (bytes/s) and the time left (s, None unknown)."""
        rate = None
        left = None
        if self.run_started_at is not None and self.state == self.State.INVENTORYING:
            elapsed = (timezone.now() - self.run_started_at).total_seconds()
            done = self.bytes_done - self.run_bytes_start
            if elapsed > 0 and done > 0:
                rate = done / elapsed
                left = max(0.0, (self.bytes_total - self.bytes_done) / rate)
        return {
            "state": self.state,
            "scanned": self.scanned,
            "files_total": self.files_total,
            "files_done": self.files_done,
            "bytes_total": self.bytes_total,
            "bytes_done": self.bytes_done,
            "bytes_per_second": round(rate) if rate else None,
            "seconds_left": round(left) if left is not None else None,
            "percent": round(100 * self.bytes_done / self.bytes_total, 1) if self.bytes_total else None,
        }


class InventoryFile(models.Model):
    """One file of a delivery. Few indexes on purpose: every one costs on each of the hundreds of
    thousands of rows an inventory inserts and updates (bench/bench_inventory.py measures the insert)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be hashed"
        HASHED = "hashed", "Hashed"
        ERROR = "error", "Could not be read"

    # No index of its own: (delivery, path) leads with it. No database constraint either: its check trigger
    # halves the COPY rate of an inventory's rows (measured: 25,000 → 50,000 rows/s). Rows are written only
    # by the inventory of an existing delivery (under its lease), and deleting a delivery deletes them
    # (Django's CASCADE), so the constraint would only ever check what the code already guarantees.
    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="files", db_index=False, db_constraint=False
    )
    path = models.TextField(help_text="Relative to the delivery root, '/'-separated, NFC.")
    size = models.BigIntegerField()
    modified_at = models.DateTimeField(null=True, blank=True)
    md5 = models.CharField(max_length=32, blank=True)
    sha1 = models.CharField(max_length=40, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    hashed_at = models.DateTimeField(null=True, blank=True)
    instrument_class = models.CharField(max_length=40, blank=True)
    # The name as found on disk (or the S3 key below the prefix) when it differs from ``path`` (which is
    # NFC): the worker opens this one, and the hashdeep export lists it, so that an audit of the tree
    # compares the names the file system holds.
    source_path = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    # Against the delivery's own manifest: "" (no manifest covers it), ok, mismatch, unlisted.
    manifest_check = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["path"]
        constraints = [models.UniqueConstraint(fields=["delivery", "path"], name="uniq_inventory_path")]
        # The inventory page's instrument-class filter. The worker's pending rows are read by primary key
        # ranges (a delivery's rows are inserted together), so they need no index of their own.
        indexes = [models.Index(fields=["delivery", "instrument_class"], name="inventory_class")]

    def __str__(self) -> str:
        return self.path

    WINDOW = 5000

    @classmethod
    def by_window(cls, delivery_id: int, *fields: str, **filters):
        """The delivery's rows that match ``filters``, as ``fields`` tuples in id order, read ``WINDOW``
        primary keys at a time: a delivery's rows were inserted together, so each window is one short
        range scan of the primary key (no index on status, size or name needed), and a window's rows are
        few whatever the delivery's size."""
        bounds = cls.objects.filter(delivery_id=delivery_id).aggregate(
            lo=models.Min("id"), hi=models.Max("id")
        )
        if bounds["lo"] is None:
            return
        rows = cls.objects.filter(delivery_id=delivery_id, **filters).order_by("id")
        for lo in range(bounds["lo"], bounds["hi"] + 1, cls.WINDOW):
            yield from rows.filter(id__gte=lo, id__lt=lo + cls.WINDOW).values_list(*fields)

    @property
    def disk_path(self) -> str:
        return self.source_path or self.path

    @property
    def folder(self) -> str:
        return self.path.rpartition("/")[0]


class Flag(models.Model):
    """A reviewer's note that data is missing or wrong: a file, a folder or a whole instrument class."""

    class Kind(models.TextChoices):
        FILE = "file", "File"
        FOLDER = "folder", "Folder"
        INSTRUMENT_CLASS = "instrument_class", "Instrument class"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        ANSWERED = "answered", "Answered"
        CLOSED = "closed", "Closed"

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="flags")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    target = models.CharField(max_length=1000, help_text="The path, folder or instrument class flagged.")
    comment = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN, db_index=True)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    raised_at = models.DateTimeField(default=timezone.now)
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.target}: {self.get_state_display()}"
