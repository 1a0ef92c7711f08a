from lxml import etree

from apps.packages.models import Revision
from apps.publishing.models import Doi

from .conftest import NS


def test_demo_publishes_indexes_and_leaves_a_deleted_record_idempotently(db, client, settings):
    from apps.accounts import demo as accounts_demo
    from apps.publishing import demo as publishing_demo
    from apps.search import demo as search_demo

    settings.DATACITE_API_URL = ""
    lines = []
    for _ in range(2):
        accounts_demo.load(lines.append)
        publishing_demo.load(lines.append)
        search_demo.load(lines.append)
    assert Revision.objects.filter(package__identifier=9001).count() == 2
    assert Doi.objects.filter(package__identifier=9001).count() == 3
    assert set(Doi.objects.values_list("state", flat=True)) == {"pending"}
    response = client.get("/oai", {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"})
    doc = etree.fromstring(b"".join(response.streaming_content))
    # The withdrawn first version of edi.9001 (the tainted demo item is a quick share: tests/shares).
    assert len(doc.findall(".//oai:header[@status='deleted']", NS)) == 1
    assert b"recalibrated" in client.get("/search/", {"q": "temperature"}).content
