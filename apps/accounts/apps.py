from django.apps import AppConfig

# Apps whose models data managers curate in the admin.
CURATED_APPS = [
    "accounts",
    "audit",
    "storage",
    "cruises",
    "packages",
    "submissions",
    "eventlogs",
    "reviews",
    "holds",
    "publishing",
    "search",
    "sharing",
    "swarm",
    "nodes",
]


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_migrate

        from . import signals  # noqa: F401  (audit events for sign-up and login)
        from .models import User

        # No sender filter: permissions are created app by app as each app's post_migrate runs, so
        # the grant must run after every app, not only after this one (most apps come later).
        post_migrate.connect(grant_data_manager_permissions, dispatch_uid="quayside-data-manager-perms")
        m2m_changed.connect(sync_staff_flag, sender=User.groups.through, dispatch_uid="quayside-dm-staff")


def grant_data_manager_permissions(app_config=None, using="default", **kwargs) -> None:
    """Create the role groups and give data managers the model permissions of Quayside's own apps
    (audit events are read-only for everyone: no add/change/delete)."""
    from django.contrib.auth.models import Group, Permission

    from . import roles

    roles.ensure_groups()
    dm = Group.objects.using(using).get(name=roles.DATA_MANAGER)
    own = (
        Permission.objects.using(using)
        .filter(content_type__app_label__in=CURATED_APPS)
        .exclude(content_type__app_label="audit", codename__regex=r"^(add|change|delete)_")
    )
    dm.permissions.add(*own)
    # Data managers use the admin: anyone in the group (however they got there) is staff.
    dm.user_set.filter(is_staff=False).update(is_staff=True)


def sync_staff_flag(sender, instance, action, pk_set=None, reverse=False, **kwargs) -> None:
    """Adding someone to the data-manager group (in the admin, a shell, anywhere) opens the admin to them."""
    if action != "post_add":
        return
    from django.contrib.auth.models import Group

    from . import roles
    from .models import User

    if reverse:  # group.user_set.add(...)
        if instance.name == roles.DATA_MANAGER:
            User.objects.filter(pk__in=pk_set, is_staff=False).update(is_staff=True)
    elif Group.objects.filter(pk__in=pk_set, name=roles.DATA_MANAGER).exists() and not instance.is_staff:
        instance.is_staff = True
        instance.save(update_fields=["is_staff"])
