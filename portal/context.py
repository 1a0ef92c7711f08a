from django.conf import settings

from apps.access import roles


def site(request):
    user = getattr(request, "user", None)
    return {
        "SITE_NAME": settings.SITE_NAME,
        "SITE_BASE_URL": settings.SITE_BASE_URL,
        "is_data_manager": roles.is_data_manager(user),
        "is_vetted": roles.is_vetted(user),
    }
