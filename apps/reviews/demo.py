"""Demo review: RR2401 reviewed, amended and approved by the operator and the chief scientist."""

from apps.accounts.models import User
from apps.cruises.models import Cruise

from . import services


def load(log) -> None:
    cruise = Cruise.objects.filter(cruise_id="RR2401", vessel__code="RR").first()
    if cruise is None or services.review_for(cruise) is not None:
        return
    operator = User.objects.get(email="operator@quayside.example")
    chief = User.objects.get(email="chief@quayside.example")
    review = services.request_review(cruise, operator)
    services.amend(
        review,
        chief,
        {"survey_targets": cruise.survey_targets + "; two extra CTD stations off Point Conception"},
    )
    services.decide(review, operator, "approve", "Matches the ship's records.")
    services.decide(review, chief, "approve")
    log("reviews: RR2401 approved by operator and chief scientist")
