"""A small demo gazetteer: three generated regions (not real EEZs) — two that the demo tracks cross, one that
no demo cruise enters — and the demo tracks' timed pieces when they were built before the pieces existed."""

from apps.navigation import services as nav_services
from apps.navigation.models import Track

from . import services
from .models import Region

GAZETTEER = "Demo regions"


def _feature(name: str, ring: list[tuple[float, float]]) -> dict:
    return {
        "type": "Feature",
        "properties": {"name": name},
        "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in [*ring, ring[0]]]]},
    }


REGIONS = {
    "type": "FeatureCollection",
    "features": [
        _feature(
            "Southern California Bight (demo)",
            [(-121.0, 31.0), (-117.0, 31.0), (-116.8, 34.5), (-118.6, 34.1), (-120.5, 34.6)],
        ),
        _feature(
            "Hawaiian waters (demo)",
            [(-161.5, 18.5), (-154.5, 18.5), (-154.5, 21.0), (-156.5, 23.0), (-161.5, 23.0)],
        ),
        _feature("Line Islands (demo)", [(-162.0, 0.0), (-150.0, 0.0), (-150.0, 8.0), (-162.0, 8.0)]),
    ],
}


def load(log) -> None:
    rebuilt = sum(
        nav_services.rebuild_segments(t) > 0
        for t in Track.objects.filter(state=Track.State.DONE, dated=True, segments__isnull=True)
    )
    done = []
    if not Region.objects.filter(gazetteer=GAZETTEER).exists():
        done.append(f"{services.load(REGIONS, name_property='name', gazetteer=GAZETTEER)} demo regions")
    if rebuilt:
        done.append(f"timed pieces of {rebuilt} tracks")
    log(f"gazetteer: {', '.join(done) if done else 'demo regions already loaded'}")
