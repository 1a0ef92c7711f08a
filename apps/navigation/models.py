"""A cruise's navigation: the quality assessment certificate, the cleaned tracks and the control points.

One ``Track`` per cruise, rebuilt whenever a delivery brings navigation files. The columns section 4 (OGC API –
Features, the map, the gazetteer) reads are plain: ``control`` (GeoJSON geometry, longitudes in [-180, 180),
a MultiLineString when split at the antimeridian), the bounding box (``west`` > ``east`` across the
antimeridian), first/last fix, ``overall``. Products are content-addressed blobs (``TrackProduct``).
"""

from __future__ import annotations

import datetime

from django.db import models
from django.utils import timezone


class Track(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Waiting for the worker"
        BUILDING = "building", "Building"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Rating(models.TextChoices):
        GREEN = "green", "Green"
        YELLOW = "yellow", "Yellow"
        RED = "red", "Red"

    cruise = models.OneToOneField("cruises.Cruise", on_delete=models.CASCADE, related_name="track")
    delivery = models.ForeignKey(
        "deliveries.Delivery", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    error = models.TextField(blank=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    # The certificate (the JSON ``nav_qa --json`` prints) and its summary columns.
    certificate = models.JSONField(default=dict, blank=True)
    overall = models.CharField(max_length=6, choices=Rating.choices, blank=True)
    clock = models.CharField(max_length=60, blank=True, help_text="Which clock the track's times come from.")
    dated = models.BooleanField(default=False)
    fixes = models.PositiveIntegerField(default=0)
    first_time = models.DateTimeField(null=True, blank=True)
    last_time = models.DateTimeField(null=True, blank=True)
    first_lat = models.FloatField(null=True, blank=True)
    first_lon = models.FloatField(null=True, blank=True)
    last_lat = models.FloatField(null=True, blank=True)
    last_lon = models.FloatField(null=True, blank=True)
    # Bounding box, degrees; west > east when the track crosses the antimeridian (RFC 7946 §5.2).
    west = models.FloatField(null=True, blank=True)
    south = models.FloatField(null=True, blank=True)
    east = models.FloatField(null=True, blank=True)
    north = models.FloatField(null=True, blank=True)
    control = models.JSONField(null=True, blank=True, help_text="Control points as a GeoJSON geometry.")
    control_points = models.PositiveIntegerField(default=0)
    flagged = models.JSONField(default=list, blank=True, help_text="Flagged fixes (a sample, at most 2,000).")
    speed_plot = models.JSONField(
        default=dict, blank=True, help_text="Speed over time, reduced for the plot."
    )
    certificate_xml = models.ForeignKey(
        "storage.Blob", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    build = models.JSONField(
        default=dict, blank=True, help_text="Inputs, settings, code and outputs of the build."
    )
    built_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The box filter of search by place (section 4) reads these first.
            models.Index(fields=["south", "north"], name="nav_track_lat_box"),
            models.Index(fields=["west", "east"], name="nav_track_lon_box"),
        ]

    def __str__(self) -> str:
        return f"navigation of {self.cruise}"

    @property
    def bbox(self) -> list[float] | None:
        if self.west is None:
            return None
        return [self.west, self.south, self.east, self.north]


class TrackProduct(models.Model):
    """One product file of a track: best-resolution, one-minute or control points, as CSV or GeoJSON."""

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="products")
    name = models.CharField(max_length=200, help_text="File name, e.g. RR2401_control.geojson")
    blob = models.ForeignKey("storage.Blob", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["track", "name"], name="uniq_track_product")]

    def __str__(self) -> str:
        return self.name

    @property
    def media_type(self) -> str:
        return media_type_of(self.name)


def media_type_of(name: str) -> str:
    """The media type of a track product by its file name (GeoJSON or delimited text)."""
    return "application/geo+json" if name.endswith(".geojson") else "text/csv"


class TrackSegment(models.Model):
    """A short timed piece of a track's control-point line (``apps.navigation.segments``): the box and the
    time span are indexed, the vertices carry their times. Search by place reads these."""

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="segments")
    start = models.DateTimeField()
    end = models.DateTimeField()
    west = models.FloatField()
    south = models.FloatField()
    east = models.FloatField()
    north = models.FloatField()
    points = models.JSONField(help_text="[[lon, lat, epoch seconds], …]; never crosses the antimeridian")

    class Meta:
        indexes = [
            models.Index(fields=["south", "north"], name="nav_segment_lat_box"),
            models.Index(fields=["west", "east"], name="nav_segment_lon_box"),
            models.Index(fields=["start", "end"], name="nav_segment_span"),
        ]

    def __str__(self) -> str:
        return f"{self.track} {self.start:%Y-%m-%d %H:%M} – {self.end:%Y-%m-%d %H:%M}"

    @classmethod
    def of_piece(cls, track: Track, piece) -> TrackSegment:
        """The (unsaved) row of one timed piece of ``track`` (a ``segments.Piece``: epoch seconds, box,
        points)."""
        west, south, east, north = piece.bbox
        return cls(
            track=track,
            start=datetime.datetime.fromtimestamp(piece.start, datetime.UTC),
            end=datetime.datetime.fromtimestamp(piece.end, datetime.UTC),
            west=west,
            south=south,
            east=east,
            north=north,
            points=piece.points,
        )
