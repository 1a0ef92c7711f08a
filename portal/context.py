from django.conf import settings
from django.utils.functional import SimpleLazyObject

from apps.access import roles


def _nav_roles(user) -> dict[str, bool]:
    """Which role-aware links the navigation shows (templates/base.html): reviews for reviewers (operators,
    chief scientists, data managers), holds for chief scientists and data managers. Two small queries,
    run only when a page shows the navigation to a signed-in person."""
    from apps.access import is_any_operator
    from apps.cruises.models import CruiseMember

    manager = roles.is_data_manager(user)
    chief = CruiseMember.objects.filter(user=user, role=CruiseMember.Role.CHIEF_SCIENTIST).exists()
    return {"reviews": manager or chief or is_any_operator(user), "holds": manager or chief}


def site(request):
    user = getattr(request, "user", None)
    signed_in = bool(getattr(user, "is_authenticated", False))
    return {
        "SITE_NAME": settings.SITE_NAME,
        "SITE_BASE_URL": settings.SITE_BASE_URL,
        "is_data_manager": roles.is_data_manager(user),
        "is_vetted": roles.is_vetted(user),
        "nav_roles": SimpleLazyObject(lambda: _nav_roles(user)) if signed_in else {},
    }
