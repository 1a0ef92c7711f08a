from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import signals  # noqa: F401  (audit events for sign-up and login)

        post_migrate.connect(_set_up_groups, sender=self)


def _set_up_groups(**kwargs) -> None:
    """Create the role groups; data managers may use the admin for Quayside's own models."""
    from django.contrib.auth.models import Group, Permission

    from . import roles

    roles.ensure_groups()
    dm = Group.objects.get(name=roles.DATA_MANAGER)
    own = Permission.objects.filter(content_type__app_label__in=[
        "accounts", "audit", "storage", "cruises", "packages", "submissions", "eventlogs", "reviews",
        "holds", "publishing", "search",
    ]).exclude(content_type__app_label="audit", codename__regex=r"^(add|change|delete)_")
    dm.permissions.add(*own)
