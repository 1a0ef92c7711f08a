"""Builders shared by the cruises, event-log, review, hold and browser tests."""

from __future__ import annotations


def sailing_orders(
    cruise_id: str = "TE2402",
    vessel_code: str = "TE",
    *,
    chief_email: str = "chief@example.org",
    staff_email: str = "newcomer@example.org",
    extra: str = "",
) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<sailingOrders version="1">
  <cruise id="{cruise_id}">
    <vessel code="{vessel_code}" callSign="TEST1">Test Explorer</vessel>
    <operator>Test Oceanographic Institution</operator>
    <departure port="San Diego" unlocode="USSAN" country="US" date="2024-05-01"/>
    <arrival port="Honolulu" unlocode="USHNL" country="US" date="2024-05-21"/>
    <missionSummary>Hydrographic survey of the California Current.</missionSummary>
    <surveyTargets>CalCOFI line 90; seamount mapping</surveyTargets>
    <instruments><instrument>CTD</instrument><instrument>MBES</instrument></instruments>
    <party>
      <member role="chief_scientist" email="{chief_email}" orcid="0000-0001-5109-3700"><name>Chief Scientist</name><affiliation>TOI</affiliation></member>
      <member role="shipboard_staff" email="{staff_email}"><name>New Comer</name></member>
    </party>
    <awards><award funder="National Science Foundation" number="OCE-2400001" title="Currents"/></awards>{extra}
  </cruise>
</sailingOrders>
""".encode()


def open_log(cruise, user):
    from apps.eventlogs import services

    return services.open_log(cruise, user)


def approve_cruise(cruise, operator_user, chief_scientist):
    """Run the real review: request, operator approves, chief scientist approves."""
    from apps.reviews import services

    review = services.request_review(cruise, operator_user)
    services.decide(review, operator_user, "approve")
    services.decide(review, chief_scientist, "approve")
    cruise.refresh_from_db()
    return review
