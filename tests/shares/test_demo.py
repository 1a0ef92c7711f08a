from __future__ import annotations

import pytest

from apps.accounts import demo as accounts_demo
from apps.shares import demo
from apps.shares.models import Share

pytestmark = pytest.mark.django_db


def test_the_demo_shares_two_versions_and_a_tainted_one_and_loads_once(client, settings):
    settings.DATACITE_API_URL = ""
    accounts_demo.load(lambda _: None)
    demo.load(lambda _: None)
    demo.load(lambda _: None)  # idempotent
    tainted = Share.objects.get(package__revisions__title=demo.TAINTED_TITLE)
    share = Share.objects.exclude(pk=tainted.pk).get()
    v1, v2 = share.package.revisions.order_by("number")
    assert (v1.state, v2.state) == ("published", "published")
    first = {e.object_name: e.blob_id for e in v1.entities.all()}
    second = {e.object_name: e.blob_id for e in v2.entities.all()}
    assert first["README.txt"] == second["README.txt"]
    assert first["plankton_counts.csv"] != second["plankton_counts.csv"]
    assert share.edits.count() == 1

    (version,) = tainted.package.revisions.all()
    assert version.state == "tainted" and version.entities.get().blob.removed_at is not None
    tombstone = client.get(tainted.referral_path, follow=True)
    assert tombstone.status_code == 410 and b"removed" in tombstone.content
    assert b"identifiable people" not in tombstone.content and b"0001.jpg" not in tombstone.content
    oai = client.get("/oai", {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"})
    assert b"".join(oai.streaming_content).count(b'status="deleted"') == 1
