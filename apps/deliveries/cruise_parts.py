"""Deliveries' part of the cruise page (registered with apps.cruises.extensions in ``ready()``)."""

from __future__ import annotations

from apps import access

from .models import Delivery


def page_context(request, cruise, context: dict) -> None:
    context["deliveries_part"] = True
    context["deliveries"] = list(Delivery.objects.filter(cruise=cruise).order_by("created_at"))
    context["can_deliver"] = access.can_register_delivery(request.user, cruise)
