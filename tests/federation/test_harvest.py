"""Harvesting OAI-PMH feeds into remote records: a Quayside portal's own feed over a live server (harvest,
search, remote page, mirror, withdrawal honoured by an incremental re-harvest), a third-party provider
(pyoai's ``oaipmh.server`` with handle identifiers), Zenodo's 422 for noRecordsMatch, and hostile XML."""

from __future__ import annotations

import contextlib
import io
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

from apps.federation import services
from apps.federation.models import HarvestRun, HarvestSource, LocalMirror, RemoteRecord
from apps.search.models import RemoteDocument
from apps.search.services import search_remote
from apps.storage.models import Blob
from tests.factories import make_revision
from tests.support.copies import give_torrent_and_mirrors

# The harvests claim their source with a lease in their own statements, and the lease's heartbeat (a
# thread) never beats in these short runs: plain test transactions do, except for the live server's test.
pytestmark = pytest.mark.django_db


@pytest.fixture
def federation_settings(settings, live_server):
    settings.SITE_BASE_URL = live_server.url
    settings.HARVEST_ALLOW_LOOPBACK = True
    settings.FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.OAI_PAGE_SIZE = 2  # three records: two pages, one resumption token
    return settings


@pytest.mark.django_db(transaction=True)
def test_a_portal_harvests_a_quayside_feed_mirrors_a_dataset_and_drops_it_when_withdrawn(
    federation_settings, live_server
):
    from apps.publishing.services import withdraw

    revisions = [make_revision(title=f"Shelf temperature <b>{n}</b>", files=2) for n in range(3)]
    source = HarvestSource.objects.create(base_url=f"{live_server.url}/oai", name="Portal A")
    # ``from`` is inclusive at the provider's granularity (seconds): records stamped in the second of the
    # last responseDate rightly come again. Harvest a second later so the re-harvest shows only the change.
    time.sleep(1.1)
    run = services.harvest(source.pk)
    assert run.state == HarvestRun.State.DONE, run.message
    assert (run.pages, run.records, run.deleted, run.rejected, run.from_date) == (2, 3, 0, 0, "")
    records = {r.title: r for r in RemoteRecord.objects.filter(source=source)}
    first = records["Shelf temperature <b>0</b>"]
    assert first.home_url == f"{live_server.url}/dataset/edi/{revisions[0].package.identifier}/1/"
    assert first.doi and "Lovelace, Ada" in first.creators

    # Found by search (page and API), marked remote, linking home; the page escapes harvested text.
    page, total, _ = search_remote({"q": "shelf temperature"})
    assert total == 3
    html = Client().get("/search/", {"q": "shelf"}).content.decode()
    assert "From other portals" in html and "&lt;b&gt;0&lt;/b&gt;" in html and "<b>0</b>" not in html
    api = Client().get("/api/search/", {"q": "shelf", "origin": "remote"}).json()
    assert api["count"] == 3 and {r["origin"] for r in api["results"]} == {"remote"}
    assert Client().get(f"/remote/{first.pk}/").status_code == 200

    # Mirror it: both files over HTTP from A's landing page's JSON-LD, size and SHA-256 verified.
    mirror = LocalMirror.objects.create(record=first)
    mirror = services.mirror(mirror.pk)
    assert mirror.state == LocalMirror.State.DONE, mirror.error
    assert [f.checked for f in mirror.files.all()] == ["md5 computed, size, sha256"] * 2
    assert {f.blob_id for f in mirror.files.all()} == {e.blob_id for e in revisions[0].entities.all()}

    # A's second dataset gets its torrent and verified mirrors after B's harvest (the torrent's build gives
    # the record a new datestamp); A withdraws the first. B's next harvest is incremental: it takes the
    # second again, with its torrent and mirrors, and honours the deletion.
    tree, record_page = give_torrent_and_mirrors(revisions[1])
    withdraw(revisions[0], reason="Duplicate of another dataset")
    again = services.harvest(source.pk)
    assert again.state == HarvestRun.State.DONE, again.message
    assert again.from_date == run.response_date
    assert (again.records, again.deleted) == (1, 1)  # only what changed
    second = records["Shelf temperature <b>1</b>"]
    second.refresh_from_db()
    assert second.torrent_url == f"{live_server.url}/dataset/edi/{revisions[1].package.identifier}/1/torrent"
    assert second.home_magnet.infohash == "ab" * 20 and second.home_mirrors == [tree, record_page]
    first.refresh_from_db()
    assert first.deleted and not LocalMirror.objects.filter(record=first).exists()
    assert not RemoteDocument.objects.filter(pk=first.pk).exists()
    assert Client().get(f"/remote/{first.pk}/").status_code == 410
    # The blobs are A's too (one database here): still referenced by A's entities, so they stay.
    assert Blob.objects.filter(pk__in=[e.blob_id for e in revisions[0].entities.all()]).count() == 2


def test_a_mirror_without_other_references_loses_its_blobs_when_the_record_is_deleted(federation_settings):
    from apps.federation.models import MirrorFile
    from apps.storage.services import store_bytes

    source = HarvestSource.objects.create(base_url="https://oai.example.org/oai")
    record = RemoteRecord.objects.create(
        source=source,
        identifier="hdl:1765/1",
        datestamp="2024-01-01",
        torrent_url="https://example.org/1.torrent",
        magnet=f"magnet:?xt=urn:btih:{'ab' * 20}&dn=one",
        home_mirrors=["https://mirror.example.org/1/"],
    )
    mirror = LocalMirror.objects.create(record=record, state=LocalMirror.State.DONE)
    blob = store_bytes(b"only the mirror holds this\n")
    MirrorFile.objects.create(mirror=mirror, name="a.txt", url="https://example.org/a.txt", blob=blob)
    run = HarvestRun.objects.create(source=source)
    deleted = b'<record xmlns="http://www.openarchives.org/OAI/2.0/"><header status="deleted"><identifier>hdl:1765/1</identifier><datestamp>2024-02-01</datestamp></header></record>'
    from lxml import etree

    services.store_page(source, run, [etree.fromstring(deleted)], [])
    assert not Blob.objects.filter(pk=blob.pk).exists()
    record.refresh_from_db()
    assert record.deleted and (record.torrent_url, record.magnet, record.home_mirrors) == ("", "", [])
    page = Client().get(f"/remote/{record.pk}/")
    assert page.status_code == 410 and b"example.org/1.torrent" not in page.content
    assert b"magnet:" not in page.content and b"mirror.example.org" not in page.content


def test_the_three_crosswalks_read_the_same_record_from_a_quayside_feed(settings):
    """oai_dc, DataCite and EML of one revision, as Quayside's own provider writes them, read into the same
    title and creator; the DOI and the landing page where the format carries them."""
    from lxml import etree

    from apps.federation import harvester

    revision = make_revision(title="Shelf temperature <b>1</b>", files=2)
    read = {}
    for prefix in ("oai_dc", "datacite", "eml"):
        response = Client().get("/oai", {"verb": "ListRecords", "metadataPrefix": prefix})
        root = etree.fromstring(b"".join(response.streaming_content))
        (element,) = root.iter(f"{harvester.OAI}record")
        read[prefix] = harvester.read_record(element, prefix)
    package = revision.package
    assert {r.identifier for r in read.values()} == {f"oai:127.0.0.1:edi.{package.identifier}.1"}
    assert read["oai_dc"].title == read["datacite"].title == "Shelf temperature <b>1</b>"
    assert read["eml"].title.startswith("Shelf temperature")
    assert read["oai_dc"].creators == read["datacite"].creators and "Lovelace, Ada" in read["oai_dc"].creators
    assert read["eml"].creators[0] == "Ada Lovelace"
    assert read["oai_dc"].doi == read["datacite"].doi == f"10.80000/edi.{package.identifier}.1"
    assert read["oai_dc"].home_url.endswith(f"/dataset/edi/{package.identifier}/1/")
    assert read["datacite"].home_url == f"https://doi.org/{read['datacite'].doi}"
    assert read["oai_dc"].description == read["datacite"].description
    assert read["oai_dc"].subjects == read["datacite"].subjects == ["temperature", "moorings"]
    assert read["eml"].identifiers[0] == f"edi.{package.identifier}.1"


def test_a_records_torrent_magnet_and_verified_mirrors_are_read_from_its_oai_dc_and_datacite(settings):
    """What Quayside's provider writes of a version's torrent and verified mirrors (DataCite: the .torrent
    as HasMetadata in the BitTorrent scheme, the magnet link as an alternateIdentifier, each mirror
    IsIdenticalTo; oai_dc: magnet and mirrors as identifiers) is read back the same from both formats; a
    mirror that failed its last check is not named."""
    from lxml import etree

    from apps.federation import harvester

    revision = make_revision(title="Shelf temperature", files=2)
    tree, record_page = give_torrent_and_mirrors(revision)
    read = {}
    for prefix in ("oai_dc", "datacite"):
        response = Client().get("/oai", {"verb": "ListRecords", "metadataPrefix": prefix})
        root = etree.fromstring(b"".join(response.streaming_content))
        (element,) = root.iter(f"{harvester.OAI}record")
        read[prefix] = harvester.read_record(element, prefix)
    package = revision.package
    for prefix, record in read.items():
        assert record.torrent_url == (
            f"{settings.SITE_BASE_URL}/dataset/edi/{package.identifier}/1/torrent"
        ), prefix
        magnet = harvester.read_magnet(record.magnet)
        assert magnet.infohash == "ab" * 20 and magnet.name == revision.package_id_text, prefix
        assert magnet.torrent_url == record.torrent_url
        # The home's own web seed, then the verified mirror in the tree layout (its base, less the tree).
        assert magnet.web_seeds == (
            f"{settings.SITE_BASE_URL}/dataset/edi/{package.identifier}/1/",
            "https://bucket.example.invalid/quay/",
        ), prefix
        assert record.home_mirrors == [tree, record_page], prefix
        assert not any(i.startswith("magnet:") for i in record.identifiers), prefix
    assert read["oai_dc"].home_url.endswith(f"/dataset/edi/{package.identifier}/1/")


def test_mixed_content_and_odd_datestamps_are_read_as_text_and_refused(settings):
    from lxml import etree

    from apps.federation import harvester

    identifiers = (
        "<dc:identifier>doi:10.1234/A</dc:identifier><dc:identifier>https://dx.doi.org/10.9/b</dc:identifier>"
        "<dc:identifier>hdl:1765/3</dc:identifier>"
    )

    def record(stamp: str, title: str = "t", identifiers: str = identifiers) -> etree._Element:
        return etree.fromstring(
            f'<record xmlns="{harvester.OAI[1:-1]}"><header><identifier>oai:x:1</identifier>'
            f"<datestamp>{stamp}</datestamp></header><metadata><oai_dc:dc "
            'xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title>'
            f"{identifiers}</oai_dc:dc></metadata></record>"
        )

    read = harvester.read_record(
        record("2024-01-02T03:04:05Z", "A <!-- note --> <i>mixed</i>  title"), "oai_dc"
    )
    assert read.title == "A mixed title"
    assert (read.doi, read.home_url) == ("10.1234/A", "https://hdl.handle.net/1765/3")
    assert harvester.read_record(record("2024-01-02"), "oai_dc").datestamp == "2024-01-02"
    # A URL that urlsplit refuses (an unclosed IPv6 bracket) is no link, and no reason to stop the harvest.
    odd = record("2024-01-02", identifiers="<dc:identifier>http://[oops/x</dc:identifier>")
    assert harvester.read_record(odd, "oai_dc").home_url == ""
    for stamp in ("2024-02-30", "2024-13-01", "2024-01-01T24:00:00Z", "yesterday", ""):
        with pytest.raises(harvester.RefusedRecord):
            harvester.read_record(record(stamp), "oai_dc")


def test_a_page_that_fails_stops_the_harvest_keeps_the_pages_before_it_and_the_next_harvest_redoes_it(
    settings,
):
    """The next pages download in a thread while one is stored: a page that cannot be read (here: a
    proxy's XHTML error page, well-formed XML but not OAI-PMH, which must not pass for the end of the
    list) fails the run after the pages before it are stored, stops that thread, and leaves the source's
    ``from`` where it was, so the next harvest takes everything the failed one missed."""
    settings.HARVEST_ALLOW_LOOPBACK = True
    records = [
        (
            f"oai:x:{n}",
            datetime(2024, 1, n),
            {"title": [f"Record {n}"], "identifier": [f"https://example.org/{n}"]},
        )
        for n in range(1, 6)
    ]
    provider = pyoai_provider(records)
    broken = {"on": True}
    asked = []

    def answer(params):
        asked.append(params)
        if broken["on"] and params.get("resumptionToken") and len(asked) > 2:
            return 200, '<html xmlns="http://www.w3.org/1999/xhtml"><body>Gateway busy</body></html>'
        return 200, provider.handleRequest(params)

    with serving(answer) as url:
        source = HarvestSource.objects.create(base_url=url)
        run = services.harvest(source.pk)
        assert run.state == HarvestRun.State.FAILED and "not an OAI-PMH response" in run.message, run.message
        assert run.pages == 1 and run.records == 2
        assert set(RemoteRecord.objects.values_list("identifier", flat=True)) == {"oai:x:1", "oai:x:2"}
        assert not [t for t in threading.enumerate() if t.name == "harvest-prefetch"]
        source.refresh_from_db()
        assert source.last_response_date == "" and source.record_count == 2

        broken["on"] = False
        again = services.harvest(source.pk)
    assert again.state == HarvestRun.State.DONE and again.from_date == "", again.message
    assert again.records == 5 and RemoteRecord.objects.filter(source=source).count() == 5


# --- a third-party provider: pyoai's server ----------------------------------------------------------


def pyoai_provider(records):
    import warnings
    from urllib.parse import parse_qs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import cgi

    from oaipmh import common, metadata, server

    # pyoai 2.5 decodes its own resumption tokens with cgi.parse_qs, gone since Python 3.8.
    if not hasattr(cgi, "parse_qs"):
        cgi.parse_qs = parse_qs

    class Repository:
        def identify(self):
            return common.Identify(
                repositoryName="Handle repository",
                baseURL="http://127.0.0.1/",
                protocolVersion="2.0",
                adminEmails=["admin@example.org"],
                earliestDatestamp=datetime(2004, 1, 1),
                deletedRecord="transient",
                granularity="YYYY-MM-DD",
                compression=["identity"],
            )

        def listMetadataFormats(self, identifier=None):
            return [
                (
                    "oai_dc",
                    "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
                    "http://www.openarchives.org/OAI/2.0/oai_dc/",
                )
            ]

        def listRecords(self, metadataPrefix=None, from_=None, until=None, set=None):
            return [
                (common.Header(None, ident, stamp, [], False), common.Metadata(None, fields), None)
                for ident, stamp, fields in records
                if from_ is None or stamp >= from_
            ]

    registry = metadata.MetadataRegistry()
    registry.registerWriter("oai_dc", server.oai_dc_writer)
    return server.Server(Repository(), registry, resumption_batch_size=2)


@contextlib.contextmanager
def serving(answer):
    """A loopback HTTP server; ``answer(params) -> (status, body)``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status, body = answer(dict(parse_qsl(urlsplit(self.path).query)))
            body = body if isinstance(body, bytes) else body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/oai"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_third_party_provider_with_handle_identifiers_and_day_granularity(settings):
    settings.HARVEST_ALLOW_LOOPBACK = True
    records = [
        (
            f"hdl:1765/{n}",
            datetime(2024, 1, n),
            {
                "title": [f"Thesis {n}"],
                "creator": ["Doe, J."],
                "identifier": [f"hdl:1765/{n}"],
                "date": ["2024"],
            },
        )
        for n in range(1, 6)
    ]
    provider = pyoai_provider(records)
    with serving(lambda params: (200, provider.handleRequest(params))) as url:
        source = HarvestSource.objects.create(base_url=url)
        run = services.harvest(source.pk)
        assert run.state == HarvestRun.State.DONE, run.message
        assert (run.pages, run.records) == (3, 5)
        record = RemoteRecord.objects.get(source=source, identifier="hdl:1765/3")
        assert record.home_url == "https://hdl.handle.net/1765/3" and record.title == "Thesis 3"
        source.refresh_from_db()
        assert source.granularity == "YYYY-MM-DD" and source.repository_name == "Handle repository"
        # Incremental: ``from`` is the day of the last responseDate; only what changed since then comes.
        # The command harvests the same registered source, incrementally.
        records.append(("hdl:1765/9", datetime(2099, 1, 1), {"title": ["New"], "identifier": ["hdl:1765/9"]}))
        out = io.StringIO()
        call_command("harvest", url, stdout=out)
        assert out.getvalue().startswith("done: 1 records, 0 deleted")
        again = HarvestRun.objects.filter(source=source).first()
        assert again.from_date == run.response_date[:10] and again.records == 1


def test_zenodo_style_422_no_records_match_is_an_empty_harvest(settings):
    settings.HARVEST_ALLOW_LOOPBACK = True
    identify = pyoai_provider([]).handleRequest({"verb": "Identify"})
    no_match = (
        '<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        '<responseDate>2025-01-01T00:00:00Z</responseDate><request verb="ListRecords">x</request>'
        '<error code="noRecordsMatch">No records match</error></OAI-PMH>'
    )
    with serving(lambda p: (200, identify) if p.get("verb") == "Identify" else (422, no_match)) as url:
        source = HarvestSource.objects.create(base_url=url)
        run = services.harvest(source.pk)
    assert run.state == HarvestRun.State.DONE and run.records == 0, run.message
    source.refresh_from_db()
    assert source.last_error == "" and source.last_response_date


BILLION_LAUGHS = """<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2025-01-01T00:00:00Z</responseDate><Identify><repositoryName>&lol3;</repositoryName><granularity>YYYY-MM-DD</granularity></Identify></OAI-PMH>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2025-01-01T00:00:00Z</responseDate><Identify><repositoryName>&xxe;</repositoryName><granularity>YYYY-MM-DD</granularity></Identify></OAI-PMH>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_hostile_xml_is_refused_and_counted(settings, body):
    settings.HARVEST_ALLOW_LOOPBACK = True
    with serving(lambda p: (200, body)) as url:
        source = HarvestSource.objects.create(base_url=url)
        run = services.harvest(source.pk)
    assert run.state == HarvestRun.State.FAILED and "DTD" in run.message
    source.refresh_from_db()
    assert source.error_count == 1 and "DTD" in source.last_error
    assert not RemoteRecord.objects.filter(source=source).exists()
    assert "root:" not in source.repository_name


def test_an_absurd_record_is_refused_and_counted_while_the_harvest_goes_on(settings):
    settings.HARVEST_ALLOW_LOOPBACK = True
    settings.HARVEST_MAX_RECORD_BYTES = 2000
    records = [
        ("oai:x:1", datetime(2024, 1, 1), {"title": ["Fine"], "identifier": ["https://example.org/1"]}),
        ("oai:x:2", datetime(2024, 1, 2), {"title": ["Huge"], "description": ["x" * 5000]}),
        (
            "oai:x:3",
            datetime(2024, 1, 3),
            {"title": ["<script>alert(1)</script>"], "identifier": ["javascript:alert(1)"]},
        ),
    ]
    provider = pyoai_provider(records)
    with serving(lambda params: (200, provider.handleRequest(params))) as url:
        source = HarvestSource.objects.create(base_url=url)
        run = services.harvest(source.pk)
    assert (run.state, run.records, run.rejected) == (HarvestRun.State.DONE, 2, 1)
    assert "oai:x:2" in run.errors
    hostile = RemoteRecord.objects.get(identifier="oai:x:3")
    assert hostile.home_url == ""  # only http(s) URLs become links
    page = Client().get(f"/remote/{hostile.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_hostile_torrent_magnet_and_mirror_values_are_refused_and_the_rest_shown_safely(settings):
    """From a third-party oai_dc feed: a magnet link's javascript: web seed and .torrent and its tracker are
    dropped and the link rebuilt from what is left; a javascript: identifier is no mirror; an oversize
    magnet link and one without a BitTorrent infohash are refused (the records themselves are kept)."""
    settings.HARVEST_ALLOW_LOOPBACK = True
    infohash = "ab" * 20
    oversize = f"magnet:?xt=urn:btih:{infohash}&dn=x" + "&ws=https%3A%2F%2Fseed.example.org%2F" * 120
    assert len(oversize) > 4000
    records = [
        (
            "oai:x:1",
            datetime(2024, 1, 1),
            {
                "title": ["Hostile links"],
                "identifier": [
                    "https://example.org/1",
                    f"magnet:?xt=urn:btih:{infohash}&dn=%3Cb%3Ex&ws=javascript:alert(1)"
                    "&ws=https://seed.example.org/&xs=javascript:alert(2)&tr=udp://tracker.example.org:1337",
                    "javascript:alert(3)",
                    "https://mirror.example.org/1",
                ],
            },
        ),
        (
            "oai:x:2",
            datetime(2024, 1, 2),
            {"title": ["Oversize"], "identifier": ["https://example.org/2", oversize]},
        ),
        (
            "oai:x:3",
            datetime(2024, 1, 3),
            {
                "title": ["No infohash"],
                "identifier": ["magnet:?xt=urn:sha1:XYZ&xs=https://example.org/t.torrent"],
            },
        ),
    ]
    provider = pyoai_provider(records)
    with serving(lambda params: (200, provider.handleRequest(params))) as url:
        source = HarvestSource.objects.create(base_url=url, name="Elsewhere")
        run = services.harvest(source.pk)
    assert (run.state, run.records, run.rejected) == (HarvestRun.State.DONE, 3, 0), run.message
    hostile, oversized, no_infohash = (RemoteRecord.objects.get(identifier=f"oai:x:{n}") for n in (1, 2, 3))
    assert (
        hostile.magnet == f"magnet:?xt=urn:btih:{infohash}&dn=%3Cb%3Ex&ws=https%3A%2F%2Fseed.example.org%2F"
    )
    assert hostile.torrent_url == "" and hostile.home_mirrors == ["https://mirror.example.org/1"]
    assert hostile.identifiers == [
        "https://example.org/1",
        "javascript:alert(3)",
    ]  # the mirror is no longer one
    for record in (oversized, no_infohash):
        assert (record.magnet, record.torrent_url, record.home_mirrors) == ("", "", []), record.identifier
        assert not any(i.startswith("magnet:") for i in record.identifiers)

    page = Client().get(f"/remote/{hostile.pk}/").content.decode()
    assert f'<a href="magnet:?xt=urn:btih:{infohash}&amp;dn=%3Cb%3Ex&amp;ws=' in page
    assert '<a href="https://mirror.example.org/1" rel="nofollow noopener">' in page
    assert 'href="javascript:' not in page and "tracker.example.org" not in page
    found = Client().get("/api/search/", {"q": "Hostile", "origin": "remote"}).json()["results"]
    assert [(r["magnet"], r["torrent_url"], r["home_mirrors"]) for r in found] == [
        (hostile.magnet, None, ["https://mirror.example.org/1"])
    ]
    assert "magnet link" in Client().get("/search/", {"q": "Hostile", "origin": "remote"}).content.decode()


def test_datacite_torrent_and_mirror_relations_are_read_and_hostile_ones_refused(settings):
    from lxml import etree

    from apps.federation import harvester

    base32 = "VOV2XK5LVOV2XK5LVOV2XK5LVOV2XK5L"  # the same 20 bytes as "ab" * 20, in BEP 9's base32 form

    def record(related: str, alternate: str = "") -> harvester.Harvested:
        return harvester.read_record(
            etree.fromstring(
                f'<record xmlns="{harvester.OAI[1:-1]}"><header><identifier>oai:dc:1</identifier>'
                "<datestamp>2024-01-02</datestamp></header><metadata>"
                '<resource xmlns="http://datacite.org/schema/kernel-4"><identifier identifierType="DOI">'
                "10.1234/one</identifier><titles><title>One</title></titles>"
                f"<alternateIdentifiers>{alternate}</alternateIdentifiers>"
                f"<relatedIdentifiers>{related}</relatedIdentifiers></resource></metadata></record>"
            ),
            "datacite",
        )

    torrent = (
        '<relatedIdentifier relatedIdentifierType="URL" relationType="HasMetadata" '
        'relatedMetadataScheme="BitTorrent">{}</relatedIdentifier>'
    )
    copy = '<relatedIdentifier relatedIdentifierType="{}" relationType="IsIdenticalTo">{}</relatedIdentifier>'
    good = record(
        torrent.format("https://home.example.org/t.torrent")
        + copy.format("DOI", "10.5281/zenodo.7")
        + copy.format("URL", "https://mirror.example.org/one/")
        + '<relatedIdentifier relatedIdentifierType="URL" relationType="IsPartOf">https://cruise.example.org/'
        "</relatedIdentifier>",
        f'<alternateIdentifier alternateIdentifierType="magnet">magnet:?xt=urn:btih:{base32}</alternateIdentifier>',
    )
    assert good.torrent_url == "https://home.example.org/t.torrent"
    assert good.magnet == f"magnet:?xt=urn:btih:{'ab' * 20}&dn={'ab' * 20}"
    assert good.home_mirrors == ["https://doi.org/10.5281/zenodo.7", "https://mirror.example.org/one/"]
    bad = record(
        torrent.format("javascript:alert(1)") + copy.format("URL", "javascript:alert(2)"),
        '<alternateIdentifier alternateIdentifierType="magnet">javascript:alert(3)</alternateIdentifier>',
    )
    assert (bad.torrent_url, bad.magnet, bad.home_mirrors) == ("", "", [])


def test_base_urls_pass_the_ssrf_check(settings):
    from portal.errors import UserError

    settings.HARVEST_ALLOW_LOOPBACK = False
    with pytest.raises(UserError):
        services.check_base_url("http://127.0.0.1:9/oai")
    with pytest.raises(UserError):
        services.check_base_url("file:///etc/passwd")
    settings.HARVEST_ALLOW_LOOPBACK = True
    assert services.check_base_url("http://127.0.0.1:9/oai") == "http://127.0.0.1:9/oai"


def test_every_connection_is_checked_again_so_a_rebound_name_is_refused(settings, monkeypatch):
    """A source registered while its name resolved to a public address, which now resolves to loopback
    (DNS rebinding): the harvest's connection is checked at connect time and never reaches the server."""
    import socket

    settings.HARVEST_ALLOW_LOOPBACK = False
    asked = []
    identify = pyoai_provider([]).handleRequest({"verb": "Identify"})
    real = socket.getaddrinfo

    def rebound(host, *args, **kwargs):
        return real("127.0.0.1" if host == "oai.rebind.example" else host, *args, **kwargs)

    with serving(lambda p: asked.append(p) or (200, identify)) as url:
        monkeypatch.setattr(socket, "getaddrinfo", rebound)
        port = urlsplit(url).port
        source = HarvestSource.objects.create(base_url=f"http://oai.rebind.example:{port}/oai")
        run = services.harvest(source.pk)
        assert run.state == HarvestRun.State.FAILED and "loopback" in run.message, run.message
        assert asked == []
        # The same name, with loopback allowed (tests, a one-machine demo): connected to the checked address.
        settings.HARVEST_ALLOW_LOOPBACK = True
        run = services.harvest(source.pk)
        assert run.state == HarvestRun.State.DONE, run.message
        assert asked and asked[0]["verb"] == "Identify"


def test_two_claims_never_harvest_one_source_at_once(settings):
    import datetime as dt

    from portal.tasks import claim

    source = HarvestSource.objects.create(base_url="https://oai.example.org/oai")
    held = claim(HarvestSource.objects.all(), source.pk, duration=dt.timedelta(minutes=5))
    assert held is not None
    assert services.harvest(source.pk) is None  # the second one backs off
    assert not HarvestRun.objects.filter(source=source).exists()
