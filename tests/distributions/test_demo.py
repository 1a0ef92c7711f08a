"""The demo: profiles always; with RR2401's inventoried delivery (the deliveries demo makes it), the datasets
the Revelle's profile classifies it into, the two smallest packaged. Loading twice changes nothing."""

import pytest

from apps.accounts import demo as accounts_demo
from apps.cruises import demo as cruises_demo
from apps.cruises.models import Cruise
from apps.deliveries.models import Delivery
from apps.distributions import demo
from apps.distributions.models import Dataset, Profile
from apps.packages.models import Revision

from .conftest import inventory, make_drop

pytestmark = pytest.mark.django_db


def test_demo_profiles_without_a_delivery_then_its_datasets(tmp_path):
    lines = []
    accounts_demo.load(lines.append)
    cruises_demo.load(lines.append)
    demo.load(lines.append)
    assert Profile.objects.get(vessel__code="RR").template.name == "Scripps fleet standard"
    assert "no inventoried delivery" in lines[-1]

    cruise = Cruise.objects.get(cruise_id="RR2401", vessel__code="RR")
    root = make_drop(
        tmp_path / "drop",
        {
            "RR2401/multibeam/EM124/0001.kmall": b"m" * 50,
            "RR2401/nav/gnss/20250101.gps": b"$GPGGA\n",
            "RR2401/met/met_20250101.csv": b"time,t\n2025-01-01T00:00,12\n",
            "RR2401/CTD/cast001.hex": b"hex" * 20,
            "RR2401/stray.tmp": b"x",
        },
    )
    delivery = Delivery.objects.create(cruise=cruise, shipment="RR2401-01", method="folder", source=str(root))
    inventory(delivery, root)
    demo.load(lines.append)
    demo.load(lines.append)  # idempotent
    classes = sorted(Dataset.objects.filter(delivery=delivery).values_list("instrument_class", flat=True))
    assert classes == ["ctd", "meteorology", "multibeam", "navigation"]
    packaged = Dataset.objects.filter(delivery=delivery, package__isnull=False)
    assert packaged.count() == 2
    assert all(
        d.package.revisions.filter(state__in=[Revision.State.PUBLISHED, Revision.State.HELD]).exists()
        for d in packaged
    )
