from pathlib import Path
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


def name_the_site(using="default", **kwargs) -> None:
    """E-mails and allauth pages name the Sites framework's site: make it this deployment's, not
    Django's "example.com" (invitations, confirmations and review requests carry it)."""
    from django.contrib.sites.models import Site

    domain = urlsplit(settings.SITE_BASE_URL).netloc or "localhost"
    Site.objects.using(using).update_or_create(
        pk=settings.SITE_ID, defaults={"domain": domain, "name": settings.SITE_NAME}
    )
    Site.objects.clear_cache()


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Quayside portal"

    def ready(self) -> None:
        """Make the local folders the settings name (data folder, static files, scratch, the file-system
        queue) when a process starts, so a fresh clone runs with nothing made beforehand; name the site
        after every migrate, so a changed SITE_BASE_URL/SITE_NAME reaches the row on the next deploy; parse
        PostgreSQL timestamps in C (``portal.pgtypes``)."""
        for folder in settings.LOCAL_FOLDERS:
            Path(folder).mkdir(parents=True, exist_ok=True)
        post_migrate.connect(name_the_site, sender=self, dispatch_uid="portal.name_the_site")
        from .pgtypes import use_c_timestamp_loader

        connection_created.connect(use_c_timestamp_loader, dispatch_uid="portal.c_timestamp_loader")
