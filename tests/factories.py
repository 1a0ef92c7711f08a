"""Test data, one way: factory-boy factories for the models tests build, and ``make_revision`` for a revision
in a given state with its EML document and files.

Factories make rows with sensible defaults (``CruiseFactory()`` is a cruise with its vessel and operator);
pass what a test cares about (``RevisionFactory(package__cruise=cruise, state="held")``). Blobs are made
through the storage service, so their bytes exist in the test's blob folder like any other blob.
"""

from __future__ import annotations

import datetime

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone
from factory.django import DjangoModelFactory

from apps.accounts import roles
from apps.accounts.models import User
from apps.cruises.models import Cruise, CruiseMember, Organisation, OrganisationMember, Vessel
from apps.packages.models import Entity, Package, Revision
from apps.storage.models import Blob

PASSWORD = "correct-horse-battery-staple"


class UserFactory(DjangoModelFactory):
    """A user who signs in with ``PASSWORD``, with a verified primary address; ``groups=[roles.VETTED]``
    grants site-wide roles."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    name = factory.LazyAttribute(lambda o: o.email.split("@")[0].title())

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class.objects.create_user(*args, password=kwargs.pop("password", PASSWORD), **kwargs)

    @factory.post_generation
    def verified(user, create, extracted, **kwargs):
        if create:
            EmailAddress.objects.create(
                user=user, email=user.email, verified=True if extracted is None else extracted, primary=True
            )

    @factory.post_generation
    def groups(user, create, extracted, **kwargs):
        for group in extracted or ():
            roles.grant(user, group)


class OrganisationFactory(DjangoModelFactory):
    class Meta:
        model = Organisation

    name = "Test Oceanographic Institution"
    short_name = "TOI"
    email = "ops@toi.example"


class OrganisationMemberFactory(DjangoModelFactory):
    class Meta:
        model = OrganisationMember

    organisation = factory.SubFactory(OrganisationFactory)
    user = factory.SubFactory(UserFactory)
    role = OrganisationMember.Role.OPERATOR


class VesselFactory(DjangoModelFactory):
    class Meta:
        model = Vessel

    name = "Test Explorer"
    code = "TE"
    call_sign = "TEST1"
    imo_number = "9999999"
    operator = factory.SubFactory(OrganisationFactory)


class CruiseFactory(DjangoModelFactory):
    class Meta:
        model = Cruise

    cruise_id = "TE2401"
    vessel = factory.SubFactory(VesselFactory)
    operator = factory.SelfAttribute("vessel.operator")
    departure_date = datetime.date(2024, 3, 1)
    arrival_date = datetime.date(2024, 3, 20)
    mission_summary = "Test survey"


class CruiseMemberFactory(DjangoModelFactory):
    class Meta:
        model = CruiseMember

    cruise = factory.SubFactory(CruiseFactory)
    user = factory.SubFactory(UserFactory)
    name = factory.LazyAttribute(lambda o: o.user.name if o.user else "Science Party")
    email = factory.LazyAttribute(lambda o: o.user.email if o.user else "party@example.org")
    role = CruiseMember.Role.CHIEF_SCIENTIST


class BlobFactory(DjangoModelFactory):
    """``BlobFactory(data=b"...")``: the bytes are stored through the storage service."""

    class Meta:
        model = Blob

    data = factory.Sequence(lambda n: f"blob {n}\n".encode())

    @classmethod
    def _create(cls, model_class, *args, data: bytes, **kwargs):
        from apps.storage.services import store_bytes

        return store_bytes(data)


def next_identifier(scope: str) -> int:
    last = (
        Package.objects.filter(scope=scope)
        .order_by("-identifier")
        .values_list("identifier", flat=True)
        .first()
    )
    return (last or 0) + 1


class PackageFactory(DjangoModelFactory):
    class Meta:
        model = Package

    scope = "edi"
    identifier = factory.LazyAttribute(lambda o: next_identifier(o.scope))
    owner = factory.SubFactory(UserFactory)
    cruise = None


class RevisionFactory(DjangoModelFactory):
    """An archived revision with the metadata a landing page, DataCite and OAI-PMH need (no files: see
    ``EntityFactory`` and ``make_revision``)."""

    class Meta:
        model = Revision

    package = factory.SubFactory(PackageFactory)
    number = factory.LazyAttribute(
        lambda o: (o.package.revisions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    )
    state = Revision.State.ARCHIVED
    archived_at = factory.LazyFunction(timezone.now)
    submitted_by = factory.SelfAttribute("package.owner")
    title = factory.LazyAttribute(
        lambda o: f"Bottom temperature of the test shelf, part {o.package.identifier}"
    )
    abstract = "Hourly bottom temperature from moored loggers on the test shelf."
    keywords = factory.LazyFunction(lambda: ["temperature", "moorings"])
    creators = factory.LazyFunction(
        lambda: [
            {
                "name": "Ada Lovelace",
                "given": "Ada",
                "family": "Lovelace",
                "orcid": "0000-0002-1825-0097",
                "affiliation": "Test Oceanographic Institution",
                "email": "ada@example.org",
            },
            {"name": "Shelf Observing Network", "affiliation": ""},
        ]
    )
    coverage = factory.LazyFunction(
        lambda: {
            "bbox": [-70.5, 40.1, -69.2, 41.3],
            "begin": "2024-03-01",
            "end": "2024-03-20",
            "description": "Test shelf",
        }
    )
    licence = "CC-BY-4.0"


class EntityFactory(DjangoModelFactory):
    """A data object of a revision; its blob holds ``blob__data`` (a small CSV by default)."""

    class Meta:
        model = Entity

    revision = factory.SubFactory(RevisionFactory)
    entity_id = factory.Sequence(lambda n: f"e{n}")
    name = factory.LazyAttribute(lambda o: f"temperature {o.entity_id}")
    object_name = factory.LazyAttribute(lambda o: f"{o.entity_id}.csv")
    blob = factory.SubFactory(BlobFactory, data=b"time,temp\n2024-03-01T00:00Z,4.5\n")
    declared_size = factory.SelfAttribute("blob.size")
    declared_md5 = factory.SelfAttribute("blob.md5")
    format_name = "text/csv"
    mime_type = "text/csv"


EML_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<eml:eml xmlns:eml="https://eml.ecoinformatics.org/eml-2.2.0" packageId="{pid}" system="https://quayside.invalid">
  <dataset>
    <title>{title}</title>
    <creator><individualName><givenName>Ada</givenName><surName>Lovelace</surName></individualName></creator>
    <contact><individualName><surName>Lovelace</surName></individualName></contact>
  </dataset>
</eml:eml>
"""


def default_owner() -> User:
    return User.objects.filter(email="owner@example.org").first() or UserFactory(
        email="owner@example.org", name="Package Owner", password="x-owner-password"
    )


def make_revision(
    state: str = "published",
    *,
    package: Package | None = None,
    scope: str = "edi",
    identifier: int | None = None,
    owner: User | None = None,
    cruise=None,
    files: int = 1,
    eml: bool = True,
    **fields,
) -> Revision:
    """A revision of ``package`` (default: a new package of ``scope`` owned by ``owner``) in ``state``, with an
    EML document (``eml=False``: none) and ``files`` CSV entities.

    "published" goes through ``apps.publishing.services.on_archived`` (the real publishing path; the DOI
    tasks it queues on commit are not run); "held" is set and indexed; any other state is set as given."""
    from apps.publishing import services
    from apps.search.services import index_revision
    from apps.storage.services import store_bytes

    if package is None:
        package = PackageFactory(
            scope=scope,
            identifier=identifier or next_identifier(scope),
            owner=owner or default_owner(),
            cruise=cruise,
        )
    revision = RevisionFactory(package=package, submitted_by=owner or package.owner, **fields)
    if eml:
        revision.eml_blob = store_bytes(
            EML_TEMPLATE.format(pid=revision.package_id_text, title=revision.title).encode()
        )
        revision.eml_version = "2.2.0"
        revision.save(update_fields=["eml_blob", "eml_version"])
    for i in range(files):
        EntityFactory(
            revision=revision,
            entity_id=f"e{i}",
            name=f"temperature {i}",
            object_name=f"temp{i}.csv",
            blob__data=f"time,temp\n2024-03-0{i + 1}T00:00Z,{4 + i}.5\n".encode(),
        )
    if state == "published":
        services.on_archived(revision)
    elif state == "held":
        revision.state = Revision.State.HELD
        revision.save(update_fields=["state"])
        index_revision(revision)
    elif state != "archived":
        revision.state = state
        revision.save(update_fields=["state"])
    revision.refresh_from_db()
    return revision
