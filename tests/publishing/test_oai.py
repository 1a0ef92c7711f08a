import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from lxml import etree

from apps.access import visible_revisions
from apps.packages.models import Revision
from apps.publishing import services
from apps.publishing.oai import provider as oai
from tests.support.copies import give_torrent_and_mirrors

from .conftest import NS, assert_valid


@pytest.fixture
def harvest(client, schemas):
    """harvest(**params) → the parsed response, validated against OAI-PMH.xsd and its payloads' XSDs."""

    def get(method="get", **params):
        response = getattr(client, method)("/oai", params)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/xml")
        body = b"".join(response.streaming_content) if response.streaming else response.content
        doc = etree.fromstring(body)
        assert_valid(schemas["oai"], doc)
        for payload in doc.iterfind(".//oai:metadata/*", NS):
            kind = {
                "http://www.openarchives.org/OAI/2.0/oai_dc/": "oai_dc",
                "http://datacite.org/schema/kernel-4": "datacite",
                "https://eml.ecoinformatics.org/eml-2.2.0": "eml",
                oai.CRUISE_NS: "cruise",
            }[etree.QName(payload).namespace]
            assert_valid(schemas[kind], payload)
        return doc

    return get


def error_code(doc):
    errors = doc.findall("oai:error", NS)
    return errors[0].get("code") if errors else None


def identifiers(doc):
    return [h.findtext("oai:identifier", namespaces=NS) for h in doc.iterfind(".//oai:header", NS)]


def test_identify_states_persistent_deletes_and_seconds_granularity(harvest, make_revision):
    make_revision()
    doc = harvest(verb="Identify")
    ident = doc.find("oai:Identify", NS)
    assert ident.findtext("oai:deletedRecord", namespaces=NS) == "persistent"
    assert ident.findtext("oai:granularity", namespaces=NS) == "YYYY-MM-DDThh:mm:ssZ"
    assert ident.findtext("oai:protocolVersion", namespaces=NS) == "2.0"
    assert ident.findtext("oai:baseURL", namespaces=NS).endswith("/oai")
    assert ident.findtext("oai:earliestDatestamp", namespaces=NS).endswith("Z")


def test_post_is_answered_like_get(harvest, make_revision):
    make_revision()
    assert identifiers(harvest("post", verb="ListIdentifiers", metadataPrefix="oai_dc")) == identifiers(
        harvest(verb="ListIdentifiers", metadataPrefix="oai_dc")
    )


@pytest.mark.parametrize(
    "params, code",
    [
        ({}, "badVerb"),
        ({"verb": "Dance"}, "badVerb"),
        ({"verb": "Identify", "extra": "1"}, "badArgument"),
        ({"verb": "ListRecords"}, "badArgument"),
        ({"verb": "GetRecord", "metadataPrefix": "oai_dc"}, "badArgument"),
        (
            {
                "verb": "ListRecords",
                "metadataPrefix": "oai_dc",
                "from": "2024-01-01",
                "until": "2024-02-01T00:00:00Z",
            },
            "badArgument",
        ),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2024-13-01"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2024-01-01T00:00:00"}, "badArgument"),
        (
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2024-02-01", "until": "2024-01-01"},
            "badArgument",
        ),
        ({"verb": "ListRecords", "resumptionToken": "x", "metadataPrefix": "oai_dc"}, "badArgument"),
        ({"verb": "ListRecords", "resumptionToken": "forged"}, "badResumptionToken"),
        ({"verb": "ListSets", "resumptionToken": "forged"}, "badResumptionToken"),
        ({"verb": "ListRecords", "metadataPrefix": "marc21"}, "cannotDisseminateFormat"),
        (
            {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:elsewhere.org:edi.1.1"},
            "idDoesNotExist",
        ),
        ({"verb": "ListMetadataFormats", "identifier": "oai:testserver:edi.999.1"}, "idDoesNotExist"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "until": "1999-01-01"}, "noRecordsMatch"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "scope:nothing"}, "noRecordsMatch"),
    ],
)
def test_error_codes(harvest, make_revision, settings, params, code):
    settings.SITE_BASE_URL = "http://testserver"
    make_revision()
    doc = harvest(**params)
    assert error_code(doc) == code
    request = doc.find("oai:request", NS)
    if code in ("badVerb", "badArgument"):
        assert request.get("verb") is None  # no echo of a bad request's arguments (OAI-PMH 3.6)


def test_repeated_argument_is_bad(client, schemas):
    response = client.get("/oai?verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=oai_dc")
    doc = etree.fromstring(response.content)
    assert_valid(schemas["oai"], doc)
    assert error_code(doc) == "badArgument"


def test_empty_repository_has_no_set_hierarchy(harvest, db):
    assert error_code(harvest(verb="ListSets")) == "noSetHierarchy"


def test_token_of_another_verb_is_refused(harvest, make_revision, settings):
    settings.OAI_PAGE_SIZE = 1
    make_revision()
    make_revision()
    token = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc").findtext(
        ".//oai:resumptionToken", namespaces=NS
    )
    assert error_code(harvest(verb="ListRecords", resumptionToken=token)) == "badResumptionToken"


def test_all_formats_for_a_cruise_record_validate(harvest, make_revision, cruise, award, settings):
    settings.SITE_BASE_URL = "http://testserver"
    revision = make_revision(cruise=cruise)
    ident = oai.oai_identifier("edi", revision.package.identifier, 1)
    formats = harvest(verb="ListMetadataFormats", identifier=ident)
    prefixes = [
        f.findtext("oai:metadataPrefix", namespaces=NS) for f in formats.iterfind(".//oai:metadataFormat", NS)
    ]
    assert prefixes == ["oai_dc", "datacite", "eml", "cruise"]
    for prefix in prefixes:
        doc = harvest(verb="GetRecord", identifier=ident, metadataPrefix=prefix)
        assert doc.find(".//oai:metadata", NS) is not None
    cruise_doc = harvest(verb="GetRecord", identifier=ident, metadataPrefix="cruise")
    assert cruise_doc.findtext(".//cr:cruiseId", namespaces=NS) == "TE2401"
    assert cruise_doc.findtext(".//cr:award/cr:number", namespaces=NS) == "OCE-2400001"
    dc = harvest(verb="GetRecord", identifier=ident, metadataPrefix="oai_dc")
    assert dc.findtext(".//dc:title", namespaces=NS) == revision.title
    assert f"https://doi.org/{revision.doi}" in [e.text for e in dc.iterfind(".//dc:identifier", NS)]
    specs = [s.text for s in dc.iterfind(".//oai:setSpec", NS)]
    assert specs == ["scope:edi", "cruise:TE2401", "vessel:TE", "ndc"]


def test_formats_a_record_lacks_cannot_be_disseminated(harvest, make_revision, settings):
    settings.SITE_BASE_URL = "http://testserver"
    revision = make_revision(eml=False)
    ident = oai.oai_identifier("edi", revision.package.identifier, 1)
    assert (
        error_code(harvest(verb="GetRecord", identifier=ident, metadataPrefix="eml"))
        == "cannotDisseminateFormat"
    )
    assert (
        error_code(harvest(verb="GetRecord", identifier=ident, metadataPrefix="cruise"))
        == "cannotDisseminateFormat"
    )
    assert error_code(harvest(verb="ListRecords", metadataPrefix="cruise")) == "noRecordsMatch"


def test_held_and_unpublished_records_never_appear(harvest, make_revision, settings):
    settings.SITE_BASE_URL = "http://testserver"
    public = make_revision()
    held = make_revision("held")
    archived = make_revision("archived")
    failed = make_revision("failed")
    listed = identifiers(harvest(verb="ListIdentifiers", metadataPrefix="oai_dc"))
    assert listed == [oai.oai_identifier("edi", public.package.identifier, 1)]
    for hidden in (held, archived, failed):
        ident = oai.oai_identifier("edi", hidden.package.identifier, 1)
        assert (
            error_code(harvest(verb="GetRecord", identifier=ident, metadataPrefix="oai_dc"))
            == "idDoesNotExist"
        )
    # The feed is the anonymous view minus held records.
    anonymous = visible_revisions(AnonymousUser()).exclude(state=Revision.State.HELD)
    assert set(anonymous.values_list("pk", flat=True)) == set(
        oai.base_queryset().values_list("pk", flat=True)
    )


def test_withdrawn_and_tainted_records_stay_as_deleted_forever(
    harvest, make_revision, data_manager, settings
):
    settings.SITE_BASE_URL = "http://testserver"
    revision = make_revision()
    tainted = make_revision()
    services.withdraw(revision, reason="Duplicate of edi.9", user=data_manager)
    Revision.objects.filter(pk=tainted.pk).update(state=Revision.State.TAINTED, tainted_at=timezone.now())
    doc = harvest(verb="ListRecords", metadataPrefix="oai_dc")
    headers = {h.findtext("oai:identifier", namespaces=NS): h for h in doc.iterfind(".//oai:header", NS)}
    ident = oai.oai_identifier("edi", revision.package.identifier, 1)
    assert headers[ident].get("status") == "deleted"
    assert headers[oai.oai_identifier("edi", tainted.package.identifier, 1)].get("status") == "deleted"
    assert doc.xpath("//oai:record[oai:header/@status='deleted']/oai:metadata", namespaces=NS) == []
    single = harvest(verb="GetRecord", identifier=ident, metadataPrefix="datacite")
    assert single.find(".//oai:header", NS).get("status") == "deleted"
    assert error_code(harvest(verb="ListMetadataFormats", identifier=ident)) == "noMetadataFormats"
    # Still there in every later harvest, with the withdrawal's datestamp.
    stamp = oai.datestamp(Revision.objects.get(pk=revision.pk).metadata_modified_at)
    later = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": stamp})
    assert ident in identifiers(later)


def test_resumption_tokens_page_by_keyset_with_sizes(harvest, make_revision, settings):
    settings.OAI_PAGE_SIZE = 2
    made = [make_revision() for _ in range(5)]
    # Same datestamp for several records: the (datestamp, id) cursor must neither skip nor repeat.
    same = timezone.now() - datetime.timedelta(days=3)
    Revision.objects.filter(pk__in=[r.pk for r in made[:3]]).update(metadata_modified_at=same)
    seen, cursors, token = [], [], None
    while True:
        doc = harvest(
            verb="ListRecords", **({"resumptionToken": token} if token else {"metadataPrefix": "oai_dc"})
        )
        seen += identifiers(doc)
        rt = doc.find(".//oai:resumptionToken", NS)
        assert rt.get("completeListSize") == "5"
        cursors.append(int(rt.get("cursor")))
        token = rt.text
        if not token:
            break
    assert cursors == [0, 2, 4]
    assert len(seen) == 5 and len(set(seen)) == 5


def test_tokens_survive_a_restart_because_they_are_stateless(make_revision, settings):
    settings.OAI_PAGE_SIZE = 1
    make_revision()
    make_revision()
    token = oai.encode_token(
        {
            "v": "ListIdentifiers",
            "m": "oai_dc",
            "s": None,
            "c": 1,
            "n": 2,
            "f": None,
            "u": None,
            "d": Revision.objects.order_by("metadata_modified_at", "pk")
            .first()
            .metadata_modified_at.isoformat(),
            "i": Revision.objects.order_by("metadata_modified_at", "pk").first().pk,
        }
    )
    state = oai.decode_token(token, "ListIdentifiers")
    assert state["c"] == 1
    with pytest.raises(oai.OaiError):
        oai.decode_token(token[:-2] + "xx", "ListIdentifiers")


def test_from_and_until_select_by_datestamp_in_both_granularities(harvest, make_revision, settings):
    settings.SITE_BASE_URL = "http://testserver"
    old, new = make_revision(), make_revision()
    Revision.objects.filter(pk=old.pk).update(
        metadata_modified_at=datetime.datetime(2024, 1, 10, 12, 0, 0, 700000, tzinfo=datetime.UTC)
    )
    Revision.objects.filter(pk=new.pk).update(
        metadata_modified_at=datetime.datetime(2024, 2, 10, 8, 30, 0, tzinfo=datetime.UTC)
    )
    old_id, new_id = (oai.oai_identifier("edi", r.package.identifier, 1) for r in (old, new))
    assert identifiers(harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", until="2024-01-10")) == [
        old_id
    ]
    assert identifiers(
        harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", until="2024-01-10T12:00:00Z")
    ) == [old_id]
    assert (
        error_code(harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", until="2024-01-10T11:59:59Z"))
        == "noRecordsMatch"
    )
    assert identifiers(
        harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": "2024-01-11"})
    ) == [new_id]
    assert identifiers(
        harvest(
            verb="ListIdentifiers",
            metadataPrefix="oai_dc",
            **{"from": "2024-02-10T08:30:00Z", "until": "2024-02-10T08:30:00Z"},
        )
    ) == [new_id]
    doc = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": "2024-01-01"})
    assert [h.text for h in doc.iterfind(".//oai:datestamp", NS)] == [
        "2024-01-10T12:00:00Z",
        "2024-02-10T08:30:00Z",
    ]


def test_an_until_at_the_end_of_time_is_no_upper_bound(harvest, make_revision):
    revision = make_revision()
    expected = [oai.oai_identifier("edi", revision.package.identifier, 1)]
    for until in ("9999-12-31", "9999-12-31T23:59:59Z"):
        assert identifiers(harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", until=until)) == expected


def test_datestamp_moves_when_metadata_changes(harvest, make_revision):
    revision = make_revision()
    Revision.objects.filter(pk=revision.pk).update(
        metadata_modified_at=timezone.now() - datetime.timedelta(days=5)
    )
    cutoff = oai.datestamp(timezone.now() - datetime.timedelta(days=1))
    assert (
        error_code(harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": cutoff}))
        == "noRecordsMatch"
    )
    revision.refresh_from_db()
    services.metadata_changed(revision)
    assert len(identifiers(harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": cutoff}))) == 1


def test_sets_by_scope_cruise_vessel_and_ndc(harvest, make_revision, cruise, settings):
    edi = make_revision()
    ship = make_revision(scope="quay", cruise=cruise)
    no_licence = make_revision(scope="quay", cruise=cruise, licence="")
    sets = [
        s.findtext("oai:setSpec", namespaces=NS) for s in harvest(verb="ListSets").iterfind(".//oai:set", NS)
    ]
    assert sets == ["scope:edi", "scope:quay", "cruise:TE2401", "vessel:TE", "ndc"]

    def members(spec):
        doc = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", set=spec)
        return sorted(int(i.rsplit(".", 2)[1]) for i in identifiers(doc)) if error_code(doc) is None else []

    assert members("scope:edi") == [edi.package.identifier]
    assert members("cruise:TE2401") == sorted([ship.package.identifier, no_licence.package.identifier])
    assert members("vessel:TE") == sorted([ship.package.identifier, no_licence.package.identifier])
    assert members("ndc") == [ship.package.identifier]


def test_list_records_runs_a_constant_number_of_queries(
    client, make_revision, cruise, award, django_assert_max_num_queries
):
    for _ in range(6):
        give_torrent_and_mirrors(make_revision(cruise=cruise, files=2))  # copies: a query or two a page
    for prefix in ("oai_dc", "datacite", "cruise"):
        # 15: the copies (extensions.copies) take three a page: torrents, their web seeds, verified mirrors.
        with django_assert_max_num_queries(15):
            response = client.get("/oai", {"verb": "ListRecords", "metadataPrefix": prefix})
            body = b"".join(response.streaming_content)
        assert body.count(b"<record>") == 6


def test_a_versions_torrent_and_verified_mirrors_are_in_its_oai_dc_and_datacite_records_which_validate(
    harvest, make_revision, settings
):
    """oai_dc: the magnet link and each verified mirror as dc:identifier, the .torrent as dc:relation;
    DataCite: the .torrent HasMetadata (scheme BitTorrent), the magnet link an alternateIdentifier, each
    verified mirror IsIdenticalTo. Both still valid (the harvest fixture checks the XSDs), GetRecord writes
    what ListRecords writes, and a mirror that failed its last check is named nowhere."""
    settings.SITE_BASE_URL = "http://testserver"
    revision = make_revision(files=2)
    tree, record_page = give_torrent_and_mirrors(revision)
    ident = oai.oai_identifier("edi", revision.package.identifier, 1)
    torrent = f"http://testserver/dataset/edi/{revision.package.identifier}/1/torrent"
    magnet_start = f"magnet:?xt=urn:btih:{'ab' * 20}&dn={revision.package_id_text}&ws="

    listed = harvest(verb="ListRecords", metadataPrefix="oai_dc").find(".//oai_dc:dc", NS)
    identifiers = [e.text for e in listed.iterfind("dc:identifier", NS)]
    assert identifiers[2].startswith(magnet_start) and identifiers[3:] == [tree, record_page]
    assert torrent in [e.text for e in listed.iterfind("dc:relation", NS)]
    single = harvest(verb="GetRecord", identifier=ident, metadataPrefix="oai_dc").find(".//oai_dc:dc", NS)
    assert etree.tostring(listed) == etree.tostring(single)

    listed = harvest(verb="ListRecords", metadataPrefix="datacite").find(".//dcite:resource", NS)
    related = [(e.get("relationType"), e.text) for e in listed.iterfind(".//dcite:relatedIdentifier", NS)]
    assert {("IsIdenticalTo", tree), ("IsIdenticalTo", record_page), ("HasMetadata", torrent)} <= set(related)
    (scheme,) = [e for e in listed.iterfind(".//dcite:relatedIdentifier", NS) if e.text == torrent]
    assert scheme.get("relatedMetadataScheme") == "BitTorrent"
    magnets = listed.findall(".//dcite:alternateIdentifier[@alternateIdentifierType='magnet']", NS)
    assert len(magnets) == 1 and magnets[0].text == identifiers[2]
    single = harvest(verb="GetRecord", identifier=ident, metadataPrefix="datacite").find(
        ".//dcite:resource", NS
    )
    assert etree.tostring(listed) == etree.tostring(single)
    for prefix in ("oai_dc", "datacite"):
        assert b"broken.example.invalid" not in etree.tostring(
            harvest(verb="ListRecords", metadataPrefix=prefix)
        )


def test_a_mirror_that_passes_then_fails_its_check_enters_then_leaves_the_record_with_a_new_datestamp(
    harvest, make_revision, settings, tmp_path
):
    """Incremental harvesters ask ``from`` the last datestamp they saw: a mirror verified (or found bad) after
    publication changes what the record names, so the record takes a new datestamp each time."""
    from apps.catalog import mirrors
    from apps.catalog.models import Mirror
    from apps.publishing.files import version_files
    from apps.storage.services import open_blob
    from tests.support.mirror_server import RangeServer

    settings.MIRROR_ALLOW_LOOPBACK = True
    revision = make_revision(files=2)
    tree = tmp_path / "bucket" / revision.package_id_text
    tree.mkdir(parents=True)
    for f in version_files(revision):
        with open_blob(f.blob) as fh:
            (tree / f.path).write_bytes(fh.read())

    def stamp_and_copies():
        doc = harvest(verb="ListRecords", metadataPrefix="datacite")
        related = doc.iterfind(".//dcite:relatedIdentifier[@relationType='IsIdenticalTo']", NS)
        return doc.findtext(".//oai:datestamp", namespaces=NS), [e.text for e in related]

    def backdated():
        """The record's datestamp set five minutes back (so that a new one is later), as harvested."""
        earlier = timezone.now() - datetime.timedelta(minutes=5)
        Revision.objects.filter(pk=revision.pk).update(metadata_modified_at=earlier)
        return stamp_and_copies()

    with RangeServer(tmp_path / "bucket") as server:
        mirror = Mirror.objects.create(
            revision=revision, kind=Mirror.Kind.BUCKET, base_url=f"{server.url}/{revision.package_id_text}/"
        )
        earlier, copies = backdated()
        assert copies == []  # not verified yet
        assert mirrors.verify(mirror.pk).startswith("ok")
        stamp, copies = stamp_and_copies()
        assert copies == [mirror.base_url] and stamp > earlier
        earlier, _ = backdated()
        (tree / "temp1.csv").write_bytes(b"changed\n")
        assert mirrors.verify(mirror.pk, full=True).startswith("bad")
    stamp, copies = stamp_and_copies()
    assert copies == [] and stamp > earlier


def test_eml_records_carry_the_stored_document(harvest, make_revision):
    revision = make_revision()
    doc = harvest(verb="ListRecords", metadataPrefix="eml")
    eml = doc.find(".//oai:metadata/eml:eml", NS)
    assert eml.get("packageId") == revision.package_id_text


def test_list_and_get_render_the_same_oai_dc(harvest, make_revision, cruise, settings):
    settings.SITE_BASE_URL = "http://testserver"
    revision = make_revision(cruise=cruise, files=2, creators=[])
    ident = oai.oai_identifier("edi", revision.package.identifier, 1)
    listed = harvest(verb="ListRecords", metadataPrefix="oai_dc").find(".//oai_dc:dc", NS)
    single = harvest(verb="GetRecord", identifier=ident, metadataPrefix="oai_dc").find(".//oai_dc:dc", NS)
    assert etree.tostring(listed) == etree.tostring(single)
    assert single.findtext("dc:creator", namespaces=NS) == "Package Owner"  # no creators: the owner


def test_the_named_rows_match_the_columns_they_are_read_from():
    assert len(oai.DC_COLUMNS) == len(oai.DcRow._fields)
    assert oai.DcRow._fields[: len(oai.HEADER_COLUMNS)] == oai.HeaderRow._fields


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        "a & b < c > d \"q\" 'a' ]]>",
        "é ü ß 中文 😀",
        "tab\tnew\nline",
        "del \x7f nel \x85",
        "carriage \r return",
        "control \x01",
        "lone \ud800 surrogate",
        "not a character \ufffe",
    ],
)
def test_the_fast_oai_dc_writer_writes_the_bytes_lxml_writes(text):
    """ListRecords writes oai_dc as text (``oai_dc_bytes``), GetRecord and the landing page with lxml:
    the same bytes, and the same refusal of what XML cannot carry."""
    from apps.publishing.crosswalks import metadata

    view = metadata.DcView(
        "edi",
        7,
        2,
        text,
        f"abstract {text}",
        [text, "keyword"],
        [{"family": text, "given": "Ada"}, {"name": "Shelf Observing Network"}],
        datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC),
        ["text/csv"],
        None,
        {"bbox": [1, 2, 3, 4], "begin": "2024-01-01", "end": text},
        "CC-BY-4.0",
    )
    try:
        expected = etree.tostring(metadata.oai_dc_element(view), encoding="UTF-8")
    except ValueError as exc:
        with pytest.raises(type(exc)):
            metadata.oai_dc_bytes(view)
        return
    assert metadata.oai_dc_bytes(view) == expected
