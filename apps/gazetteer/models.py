"""Named regions (EEZs, seas) a data manager loads from GeoJSON, for search by place.

A region keeps its geometry (GeoJSON, WGS 84, longitudes in [-180, 180]) and its box; the box columns are
indexed so "which cruises entered this region between these dates?" reads only the track pieces near it
(``apps.gazetteer.services.cruises_crossing``).
"""

from django.db import models
from django.utils import timezone


class Region(models.Model):
    gazetteer = models.CharField(max_length=100, help_text="The set the region came from, e.g. 'EEZ v12'.")
    name = models.CharField(max_length=300)
    geometry = models.JSONField(help_text="GeoJSON Polygon or MultiPolygon.")
    properties = models.JSONField(default=dict, blank=True)
    west = models.FloatField()
    south = models.FloatField()
    east = models.FloatField()
    north = models.FloatField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["gazetteer", "name"]
        constraints = [models.UniqueConstraint(fields=["gazetteer", "name"], name="uniq_region_name")]
        indexes = [
            models.Index(fields=["south", "north"], name="gaz_region_lat_box"),
            models.Index(fields=["west", "east"], name="gaz_region_lon_box"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.gazetteer})"
