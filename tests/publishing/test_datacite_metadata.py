from datacite import schema45
from lxml import etree

from apps.publishing.crosswalks import metadata
from apps.publishing.models import concept_doi_name, version_doi_name

from .conftest import NS, assert_valid


def test_version_xml_validates_and_carries_every_property(make_revision, cruise, award, schemas, settings):
    first = make_revision(cruise=cruise)
    second = make_revision(package=first.package, title="Corrected bottom temperature")
    third = make_revision(package=first.package)
    data = metadata.datacite_dict(second)
    assert schema45.validate(data)
    xml = metadata.datacite_xml(second)
    assert_valid(schemas["datacite"], xml)
    doc = etree.fromstring(xml)
    assert (
        doc.findtext("dcite:identifier", namespaces=NS)
        == f"{settings.DOI_PREFIX}/edi.{first.package.identifier}.2"
    )
    creator = doc.find("dcite:creators/dcite:creator", NS)
    assert creator.findtext("dcite:nameIdentifier", namespaces=NS) == "https://orcid.org/0000-0002-1825-0097"
    assert creator.findtext("dcite:affiliation", namespaces=NS) == "Test Oceanographic Institution"
    assert creator.findtext("dcite:familyName", namespaces=NS) == "Lovelace"
    org = doc.findall("dcite:creators/dcite:creator", NS)[1].find("dcite:creatorName", NS)
    assert org.get("nameType") == "Organizational"
    relations = {
        (r.get("relationType"), r.text)
        for r in doc.findall("dcite:relatedIdentifiers/dcite:relatedIdentifier", NS)
    }
    assert ("IsVersionOf", concept_doi_name(first.package)) in relations
    assert ("IsNewVersionOf", version_doi_name(first)) in relations
    assert ("IsPreviousVersionOf", version_doi_name(third)) in relations
    assert ("IsPartOf", metadata.cruise_url(cruise)) in relations
    assert [s.text for s in doc.findall("dcite:subjects/dcite:subject", NS)] == ["temperature", "moorings"]
    assert doc.find("dcite:resourceType", NS).get("resourceTypeGeneral") == "Dataset"
    box = doc.find("dcite:geoLocations/dcite:geoLocation/dcite:geoLocationBox", NS)
    assert float(box.findtext("dcite:westBoundLongitude", namespaces=NS)) == -70.5
    funding = doc.find("dcite:fundingReferences/dcite:fundingReference", NS)
    assert funding.findtext("dcite:awardNumber", namespaces=NS) == "OCE-2400001"
    assert funding.find("dcite:funderIdentifier", NS).get("funderIdentifierType") == "ROR"
    assert "1 files" in [s.text for s in doc.findall("dcite:sizes/dcite:size", NS)]
    assert [f.text for f in doc.findall("dcite:formats/dcite:format", NS)] == ["text/csv"]
    assert (
        doc.find("dcite:rightsList/dcite:rights", NS)
        .get("rightsURI")
        .startswith("https://creativecommons.org/")
    )
    dates = {d.get("dateType"): d.text for d in doc.findall("dcite:dates/dcite:date", NS)}
    assert dates["Collected"] == "2024-03-01/2024-03-20"
    assert "Issued" in dates
    assert doc.findtext("dcite:version", namespaces=NS) == "2"


def test_concept_xml_lists_every_version(make_revision, schemas):
    first = make_revision()
    second = make_revision(package=first.package)
    xml = metadata.datacite_xml(second, concept=True)
    assert_valid(schemas["datacite"], xml)
    doc = etree.fromstring(xml)
    has = [
        r.text
        for r in doc.findall(
            "dcite:relatedIdentifiers/dcite:relatedIdentifier[@relationType='HasVersion']", NS
        )
    ]
    assert has == [version_doi_name(first), version_doi_name(second)]
    assert doc.findtext("dcite:identifier", namespaces=NS) == concept_doi_name(first.package)


def test_sparse_revision_still_validates(make_revision, schemas):
    revision = make_revision(
        creators=[], keywords=[], coverage={}, licence="", abstract="", files=0, eml=False
    )
    assert_valid(schemas["datacite"], metadata.datacite_xml(revision))


def test_withdrawn_version_says_so_in_its_metadata(make_revision, data_manager, schemas):
    from apps.publishing import services

    revision = make_revision()
    services.withdraw(revision, reason="Calibration error in logger 3", user=data_manager)
    revision.refresh_from_db()
    xml = metadata.datacite_xml(revision)
    assert_valid(schemas["datacite"], xml)
    doc = etree.fromstring(xml)
    assert (
        doc.find("dcite:dates/dcite:date[@dateType='Withdrawn']", NS).get("dateInformation")
        == "Calibration error in logger 3"
    )


def test_doi_suffix_is_readable_from_the_package_id(make_revision, settings):
    revision = make_revision(scope="knb-lter-quay")
    assert revision.doi == f"{settings.DOI_PREFIX}/knb-lter-quay.{revision.package.identifier}.1"
    assert (
        concept_doi_name(revision.package)
        == f"{settings.DOI_PREFIX}/knb-lter-quay.{revision.package.identifier}"
    )


def test_each_site_of_a_coverage_is_a_geolocation_of_its_own(make_revision, schemas):
    ring = [[-71.0, 41.0], [-70.0, 41.0], [-70.0, 42.0], [-71.0, 42.0]]  # EML need not close it
    revision = make_revision(
        coverage={
            "bbox": [-72.5, 40.1, -70.0, 42.0],
            "description": "Station A",
            "sites": [
                {"bbox": [-72.5, 40.1, -72.5, 40.1], "description": "Station A"},
                {"bbox": [-71.0, 41.0, -70.0, 42.0], "polygon": ring, "description": "Study area"},
                {"bbox": [-71.5, 40.5, -71.2, 40.8]},
            ],
        }
    )
    assert schema45.validate(metadata.datacite_dict(revision))
    xml = metadata.datacite_xml(revision)
    assert_valid(schemas["datacite"], xml)
    places = etree.fromstring(xml).findall("dcite:geoLocations/dcite:geoLocation", NS)
    assert places[0].find("dcite:geoLocationBox", NS) is not None  # the union box first
    point = places[1].find("dcite:geoLocationPoint", NS)
    assert float(point.findtext("dcite:pointLongitude", namespaces=NS)) == -72.5
    assert places[1].findtext("dcite:geoLocationPlace", namespaces=NS) == "Station A"
    corners = places[2].findall("dcite:geoLocationPolygon/dcite:polygonPoint", NS)
    lon_lat = [
        [float(c.findtext(f"dcite:{k}", namespaces=NS)) for k in ("pointLongitude", "pointLatitude")]
        for c in corners
    ]
    assert lon_lat == [*ring, ring[0]]  # closed, as DataCite asks
    assert places[3].find("dcite:geoLocationBox", NS) is not None
