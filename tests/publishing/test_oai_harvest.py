"""A real harvester (Sickle) against the provider over HTTP (Django's live server on 127.0.0.1)."""

import pytest
from sickle import Sickle

from apps.publishing import services
from apps.publishing.oai import provider as oai


@pytest.mark.django_db(transaction=True)
def test_sickle_harvests_every_record_including_deleted(
    live_server, make_revision, data_manager, cruise, settings
):
    settings.OAI_PAGE_SIZE = 3
    made = [make_revision(cruise=cruise if i % 2 else None) for i in range(8)]
    services.withdraw(made[0], reason="Superseded by a corrected series", user=data_manager)
    made.append(make_revision("held"))
    sickle = Sickle(f"{live_server.url}/oai", max_retries=1, timeout=30)

    assert sickle.Identify().deletedRecord == "persistent"
    headers = list(sickle.ListIdentifiers(metadataPrefix="oai_dc", ignore_deleted=False))
    records = list(sickle.ListRecords(metadataPrefix="oai_dc", ignore_deleted=False))
    expected = {oai.oai_identifier("edi", r.package.identifier, 1) for r in made[:8]}
    assert {h.identifier for h in headers} == expected
    assert {r.header.identifier for r in records} == expected
    deleted = [r for r in records if r.deleted]
    assert [r.header.identifier for r in deleted] == [
        oai.oai_identifier("edi", made[0].package.identifier, 1)
    ]
    titles = {r.metadata["title"][0] for r in records if not r.deleted}
    assert titles == {r.title for r in made[1:8]}
    datacite = list(sickle.ListRecords(metadataPrefix="datacite", ignore_deleted=False))
    assert len([r for r in datacite if not r.deleted]) == 7
    cruise_set = list(sickle.ListIdentifiers(metadataPrefix="oai_dc", set="cruise:TE2401"))
    assert len(cruise_set) == 4
    assert {s.setSpec for s in sickle.ListSets()} >= {"scope:edi", "cruise:TE2401", "vessel:TE"}
    assert {f.metadataPrefix for f in sickle.ListMetadataFormats()} == {"oai_dc", "datacite", "eml", "cruise"}
