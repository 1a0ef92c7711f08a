from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from ..models import Hold


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "enum": ["all"]},
            {"type": "array", "items": {"type": "string"}},
        ],
        "description": '"all" when the hold covers every package of the cruise, else the package keys.',
    }
)
class HeldDatasetsField(serializers.JSONField):
    pass


class HoldSerializer(serializers.Serializer):
    """What the schema says of a hold in the public list (the reason stays with the cruise's people)."""

    cruise = serializers.CharField()
    cruise_url = serializers.CharField()
    ends_on = serializers.DateField()
    datasets = HeldDatasetsField()


@extend_schema(responses=HoldSerializer(many=True))
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
