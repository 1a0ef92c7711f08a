"""A classified dataset becomes a data package through the pipeline (EML valid against the XSD), is held
while the cruise's hold lasts, is released with its DOI into the ``ndc`` OAI-PMH set, gets its national
archive accession (stored, on the landing page, in DataCite XML), and the cruise's distribution is marked
for final migration and exported as a BagIt bag that LoC's ``bagit`` validates."""

import datetime
import io
import zipfile

import bagit
import pytest
from django.core.management import call_command
from django.utils import timezone
from lxml import etree

from apps.access import roles
from apps.accounts.roles import grant
from apps.distributions import services
from apps.distributions.models import Accession, CruiseDistribution, Dataset
from apps.holds import services as holds
from apps.packages.models import Revision
from apps.publishing.crosswalks.metadata import datacite_xml
from apps.submissions import services as submissions
from apps.submissions.models import Submission
from tests.conftest import api_client_for, make_user
from tests.cruises.helpers import approve_cruise

pytestmark = pytest.mark.django_db
DC = {"d": "http://datacite.org/schema/kernel-4"}


def _ndc(client) -> bytes:
    answer = client.get("/oai", {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "ndc"})
    return b"".join(answer.streaming_content) if answer.streaming else answer.content


def _classify(delivery, profile, user):
    fingerprint = services.preview(delivery, profile).fingerprint
    return services.commit_classification(delivery, profile, user, expected=fingerprint)


def _package(dataset, user) -> Revision:
    services.request_packaging(dataset, user)
    assert services.package_dataset(dataset.pk, user.pk) == Dataset.State.SUBMITTED
    dataset.refresh_from_db()
    sub = submissions.run_all(Submission.objects.get(transaction=dataset.submission_transaction))
    assert sub.state == Submission.State.SUCCEEDED, list(sub.steps.values_list("name", "state", "message"))
    return sub.revision


def test_dataset_eml_is_derived_from_the_cruise_and_valid(delivery, profiles, data_manager, eml_schema):
    _, vessel = profiles
    dataset = next(d for d in _classify(delivery, vessel, data_manager) if d.instrument_class == "ctd")
    document, files, _, with_entities = services.dataset_eml(dataset, "quay.7.1")
    root = etree.fromstring(document)
    assert eml_schema.validate(root), eml_schema.error_log
    ds = root.find("dataset")
    assert "CTD data (Sea-Bird SBE911plus) from cruise TE2401" in ds.findtext("title")
    assert ds.find("creator/individualName/surName").text == "Scientist"  # the chief scientist
    assert ds.find("associatedParty/role").text == "Science party"
    assert ds.findtext("coverage/temporalCoverage/rangeOfDates/beginDate/calendarDate") == "2024-03-01"
    assert (
        float(ds.findtext("coverage/geographicCoverage/boundingCoordinates/northBoundingCoordinate")) > 46.19
    )
    assert ds.findtext("project/award/awardNumber") == "OCE-1234567"
    assert [e.findtext("entityName") for e in ds.findall("otherEntity")] == [f.path for f in files]
    assert ds.find("dataTable/entityName").text == "files.csv" and with_entities


def test_a_large_dataset_is_described_by_its_inventory_table(
    delivery, profiles, data_manager, settings, eml_schema
):
    settings.DISTRIBUTION_MAX_ENTITIES = 2
    _, vessel = profiles
    dataset = next(d for d in _classify(delivery, vessel, data_manager) if d.instrument_class == "multibeam")
    document, files, inventory, with_entities = services.dataset_eml(dataset, "quay.7.1")
    root = etree.fromstring(document)
    assert eml_schema.validate(root), eml_schema.error_log
    assert not with_entities and root.find("dataset/otherEntity") is None
    assert root.findtext("dataset/dataTable/numberOfRecords") == "3"
    assert inventory.decode().splitlines()[0] == "path,size,md5,sha256"


def test_release_accession_and_bag(
    delivery, profiles, data_manager, operator_user, chief_scientist, client, tmp_path, datacite_schema
):
    cruise = delivery.cruise
    approve_cruise(cruise, operator_user, chief_scientist)
    holds.assert_hold(
        cruise, chief_scientist, ends_on=timezone.now().date() + datetime.timedelta(days=30), reason="thesis"
    )
    _, vessel = profiles
    datasets = [
        d for d in _classify(delivery, vessel, data_manager) if d.instrument_class in ("adcp", "navigation")
    ]
    revisions = [_package(d, data_manager) for d in datasets]
    assert {r.state for r in revisions} == {Revision.State.HELD}
    assert all(r.package.cruise_id == cruise.pk for r in revisions)
    assert revisions[0].entities.count() == 1 + datasets[0].files_count  # the inventory table + each file

    # Held: not in the ndc set, no accession possible, no bag.
    assert b"noRecordsMatch" in _ndc(client)
    archive = make_user("archive@ncei.example")
    grant(archive, roles.ARCHIVE)
    api = api_client_for(archive)
    key = revisions[0].package
    url = f"/api/distributions/datasets/{key.scope}/{key.identifier}/accession/"
    refused = api.post(
        url,
        {"accession_id": "0290001", "url": "https://www.ncei.noaa.gov/archive/accession/0290001"},
        format="json",
    )
    assert refused.status_code == 409

    holds.lift_hold(cruise.holds.get(), chief_scientist)
    for r in revisions:
        r.refresh_from_db()
        assert r.state == Revision.State.PUBLISHED and r.doi
    ndc = _ndc(client)
    assert all(f"{r.package.scope}.{r.package.identifier}.{r.number}".encode() in ndc for r in revisions)

    # The archive reports the first accession with its token; anyone else is refused.
    assert (
        api_client_for(operator_user)
        .post(url, {"accession_id": "x", "url": "https://a.example/x"}, format="json")
        .status_code
        == 403
    )
    answered = api.post(
        url,
        {"accession_id": "0290001", "url": "https://www.ncei.noaa.gov/archive/accession/0290001"},
        format="json",
    )
    assert answered.status_code == 201, answered.content
    assert Accession.objects.get(package=key).accession_id == "0290001"
    assert api_client_for(None).get(url).json()["accession_id"] == "0290001"
    landing = client.get(f"/dataset/{key.scope}/{key.identifier}/")
    assert (
        b"Archived at" in landing.content
        and b"https://www.ncei.noaa.gov/archive/accession/0290001" in landing.content
    )
    xml = etree.fromstring(datacite_xml(revisions[0]))
    assert datacite_schema.validate(xml), datacite_schema.error_log
    related = xml.xpath("//d:relatedIdentifier[@relationType='IsIdenticalTo']", namespaces=DC)
    assert [e.text for e in related] == ["https://www.ncei.noaa.gov/archive/accession/0290001"]
    assert xml.xpath(
        "//d:alternateIdentifier[@alternateIdentifierType='NCEI Accession']/text()", namespaces=DC
    ) == ["0290001"]
    assert not CruiseDistribution.objects.filter(cruise=cruise, final_migration_at__isnull=False).exists()

    # The other released datasets archived too (the data manager, through the page): final migration.
    client.force_login(data_manager)
    for dataset in datasets[1:]:
        page = client.post(
            f"/distributions/datasets/{dataset.pk}/accession/",
            {
                "accession_id": f"02900{dataset.pk}",
                "url": f"https://www.ncei.noaa.gov/archive/accession/02900{dataset.pk}",
                "archive": "NCEI",
            },
        )
        assert page.status_code == 302
    pending = [d for d in services.cruise_datasets(cruise) if d.package_id is None]
    for dataset in pending:  # the datasets not packaged here leave the cruise unfinished
        dataset.delete()
    services.set_cruise_doi(cruise, data_manager, doi="10.7284/999999")
    from django.db import transaction

    with transaction.atomic():
        assert services.mark_final_migration(cruise)

    dest = tmp_path / "bag"
    call_command("export_bag", cruise.cruise_id, str(dest))
    exported = bagit.Bag(str(dest))
    exported.validate()
    assert exported.info["R2R-CruiseID"] == cruise.cruise_id
    assert exported.info["R2R-CruiseDOI"] == "10.7284/999999"
    assert (
        exported.info["Payload-Oxum"]
        == f"{sum(f.size for f in delivery.files.all()) + sum(r.eml_blob.size for r in revisions)}.{delivery.files.count() + len(revisions)}"
    )
    assert (dest / "data/S1/README.txt").read_bytes() == b"delivered by the operator\n"
    assert (dest / f"data/metadata/{revisions[0].package_id_text}.xml").exists()

    # The same bag as a streamed zip.
    response = client.get(f"/distributions/cruises/{cruise.pk}/bag.zip")
    assert response.status_code == 200 and response.streaming
    unzipped = tmp_path / "unzipped"
    zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).extractall(unzipped)
    bagit.Bag(str(unzipped / services.bag_dir_name(cruise))).validate()


def test_no_bag_before_final_migration(delivery, data_manager, client, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not marked for final migration: no datasets classified"):
        call_command("export_bag", delivery.cruise.cruise_id, str(tmp_path / "early"))
    client.force_login(data_manager)
    assert client.get(f"/distributions/cruises/{delivery.cruise.pk}/bag.zip").status_code == 409
    call_command("export_bag", delivery.cruise.cruise_id, str(tmp_path / "forced"), "--force")
    bagit.Bag(str(tmp_path / "forced")).validate()  # the delivery alone, no dataset EML yet
