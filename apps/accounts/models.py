"""People, their roles, and their API tokens.

Roles: a few are site-wide groups (``roles.VETTED``, ``roles.DATA_MANAGER``, ``roles.NODE_OPERATOR``);
the others belong to a thing — operator to an organisation, chief scientist and shipboard staff to a
cruise — and live in the cruises app (``OrganisationMember``, ``CruiseMember``).
"""

import functools
import hashlib
import json
import re
import secrets

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import Group, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.utils import timezone

from portal import sqlrows

ORCID_RE = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")


def validate_orcid(value: str) -> None:
    """An ORCID iD: four groups of four digits, ISO 7064 11,2 check character."""
    value = value.removeprefix("https://orcid.org/")
    if not ORCID_RE.match(value):
        raise ValidationError("An ORCID iD looks like 0000-0002-1825-0097.")
    digits = value.replace("-", "")
    total = 0
    for ch in digits[:-1]:
        total = (total + int(ch)) * 2
    check = (12 - total % 11) % 11
    expected = "X" if check == 10 else str(check)
    if digits[-1] != expected:
        raise ValidationError("This ORCID iD's check digit is wrong; please copy it again from orcid.org.")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("e-mail address", unique=True)
    name = models.CharField(max_length=200, blank=True)
    affiliation = models.CharField(max_length=300, blank=True)
    orcid = models.CharField("ORCID iD", max_length=19, blank=True, validators=[validate_orcid])
    is_staff = models.BooleanField(default=False, help_text="May use the admin site (data managers).")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.name or self.email

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email

    @property
    def group_names(self) -> list[str]:
        if not hasattr(self, "_group_names"):
            self._group_names = sorted(self.groups.values_list("name", flat=True))
        return self._group_names


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the key is shown once, at creation."""

    PREFIX = "qs_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12, help_text="The first characters, to recognise a token.")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @classmethod
    def issue(cls, user: User, name: str) -> tuple["ApiToken", str]:
        key = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, key_hash=hash_token(key), hint=key[:10])
        return token, key

    @classmethod
    def lookup(cls, key: str) -> "ApiToken | None":
        """The active token with this key, its user loaded; None for an unknown or revoked key.

        One statement on every token-authenticated request, written once (``portal.sqlrows``: the ORM's
        query building cost more CPU than the rest of an event-log POST's look-ups). It also brings the
        user's group names (``User.group_names``, which the audit rows and the role checks read), so they
        cost no statement of their own."""
        with sqlrows.cursor() as cursor:
            cursor.execute(_lookup_sql(connection.vendor), [hash_token(key)])
            row = cursor.fetchone()
        if row is None:
            return None
        token = sqlrows.from_row(cls, row)
        user = sqlrows.from_row(User, row, sqlrows.width(cls))
        names = row[-1]
        user._group_names = sorted(names if isinstance(names, list) else json.loads(names))
        cls.user.field.set_cached_value(token, user)
        return token

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


@functools.cache
def _lookup_sql(vendor: str) -> str:
    q = connection.ops.quote_name
    m2m = User.groups.field
    # The user's group names: an array on PostgreSQL, a JSON array on SQLite.
    names = (
        f"ARRAY(SELECT g.{q('name')}"
        if vendor == "postgresql"
        else f"(SELECT json_group_array(g.{q('name')})"
    )
    groups = (
        f"{names} FROM {q(Group._meta.db_table)} g "
        f"JOIN {q(m2m.remote_field.through._meta.db_table)} ug "
        f"ON ug.{q(m2m.m2m_reverse_name())} = g.{q(Group._meta.pk.column)} "
        f"WHERE ug.{q(m2m.m2m_column_name())} = u.{q(User._meta.pk.column)})"
    )
    return (
        f"SELECT {sqlrows.columns(ApiToken, 't')}, {sqlrows.columns(User, 'u')}, {groups} "
        f"FROM {q(ApiToken._meta.db_table)} t "
        f"JOIN {q(User._meta.db_table)} u ON u.{q(User._meta.pk.column)} = t.{q('user_id')} "
        f"WHERE t.{q('key_hash')} = %s AND t.{q('revoked_at')} IS NULL"
    )


class SubmitterRequest(models.Model):
    """A signed-in person asks to join the vetted group (the Gatekeeper's) to submit data packages; a data
    manager approves (``roles.grant``) or declines. Change it only through ``services``."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for a data manager"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="submitter_requests")
    reason = models.TextField(help_text="What the person wants to submit, in their words.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="submitter_decisions"
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(state="pending"), name="one_pending_submitter_request"
            )
        ]
        # The data managers' list and the dashboard count pending requests.
        indexes = [models.Index(fields=["state", "created_at"], name="submitter_request_state")]

    def __str__(self) -> str:
        return f"{self.user} asks to submit ({self.state})"
