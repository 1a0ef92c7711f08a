from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.response import Response

from ..models import Hold


@extend_schema(responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def holds(request):
    """Active holds: public metadata (cruise, datasets, end date); the reason stays with the cruise's people."""
    rows = (
        Hold.objects.filter(state=Hold.State.ACTIVE)
        .select_related("cruise")
        .prefetch_related("packages")
        .order_by("ends_on")
    )
    return Response(
        [
            {
                "cruise": h.cruise.cruise_id,
                "cruise_url": f"/api/cruises/{h.cruise_id}/",
                "ends_on": h.ends_on.isoformat(),
                "datasets": "all" if h.all_packages else [p.package_key for p in h.packages.all()],
            }
            for h in rows
        ]
    )
