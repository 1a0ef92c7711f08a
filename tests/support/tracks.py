"""Tracks made straight from control points (no NMEA to read): for the OGC API, map and gazetteer tests."""

import datetime
import json

import numpy as np

from apps.navigation import products, qa, services
from apps.navigation.models import Track

T0 = datetime.datetime(2024, 3, 2, tzinfo=datetime.UTC)


def make_track(cruise, points, *, overall="green", flagged=()):
    """A built track of ``cruise`` through ``points`` [(hours after T0, lat, lon), …] as its control points."""
    hours, lat, lon = (np.array(v, dtype=float) for v in zip(*points, strict=True))
    t = T0.timestamp() + hours * 3600
    bbox = qa._bbox(lat, lon)
    track = Track.objects.create(
        cruise=cruise,
        state=Track.State.DONE,
        overall=overall,
        dated=True,
        fixes=len(t),
        first_time=datetime.datetime.fromtimestamp(t[0], datetime.UTC),
        last_time=datetime.datetime.fromtimestamp(t[-1], datetime.UTC),
        west=bbox[0],
        south=bbox[1],
        east=bbox[2],
        north=bbox[3],
        control=json.loads(products.geometry_json(lat, lon)),
        control_points=len(t),
        flagged=list(flagged),
    )
    services.store_segments(track, (t, lat, lon))
    return track
