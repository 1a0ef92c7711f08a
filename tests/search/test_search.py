import io

import pytest

from apps.packages.models import Revision
from apps.publishing import services as publishing
from apps.search.models import SearchDocument
from apps.search.services import index_revision, search


@pytest.fixture
def corpus(make_revision, cruise):
    return {
        "temp": make_revision(title="Bottom temperature on the shelf", keywords=["temperature", "shelf"]),
        "chl": make_revision(
            title="Chlorophyll fluorescence profiles",
            keywords=["chlorophyll"],
            cruise=cruise,
            abstract="CTD casts with a fluorometer.",
            coverage={"bbox": [10, 50, 12, 52], "begin": "2023-06-01", "end": "2023-06-30"},
            creators=[{"name": "Grace Hopper", "given": "Grace", "family": "Hopper"}],
        ),
        "held": make_revision("held", title="Held temperature secrets", keywords=["temperature"]),
    }


def titles(result):
    return [d.revision.title for d in result.page.object_list]


def test_full_text_finds_by_title_abstract_and_keyword(corpus, db):
    assert titles(search(None, {"q": "temperature"})) == ["Bottom temperature on the shelf"]
    assert titles(search(None, {"q": "fluorometer"})) == ["Chlorophyll fluorescence profiles"]
    assert titles(search(None, {"q": "Hopper"})) == ["Chlorophyll fluorescence profiles"]
    assert search(None, {"q": "nonexistentword"}).total == 0


def test_held_data_is_hidden_from_those_who_may_not_see_it(corpus, plain_user, data_manager):
    assert "Held temperature secrets" not in titles(search(plain_user, {"q": "temperature"}))
    assert "Held temperature secrets" in titles(search(data_manager, {"q": "temperature"}))
    owner = corpus["held"].package.owner
    assert "Held temperature secrets" in titles(search(owner, {"q": "secrets"}))


def test_withdrawn_versions_leave_public_results(corpus, data_manager, plain_user):
    publishing.withdraw(corpus["temp"], reason="bad", user=data_manager)
    assert "Bottom temperature on the shelf" not in titles(search(plain_user, {"q": "Bottom"}))
    assert "Bottom temperature on the shelf" in titles(search(data_manager, {"q": "Bottom"}))


def test_facets_and_facet_filters(corpus, db):
    result = search(None, {})
    assert dict(result.facets["keyword"]) == {"temperature": 1, "shelf": 1, "chlorophyll": 1}
    assert dict(result.facets["vessel"]) == {"Test Explorer": 1}
    assert dict(result.facets["format"]) == {"text/csv": 2}
    assert ("grace-hopper", 1) in result.facets["creator"]
    assert result.label("creator", "grace-hopper") == "Hopper, Grace"
    assert titles(search(None, {"creator": "grace-hopper"})) == ["Chlorophyll fluorescence profiles"]
    assert titles(search(None, {"keyword": "chlorophyll"})) == ["Chlorophyll fluorescence profiles"]
    assert titles(search(None, {"vessel": "Test Explorer"})) == ["Chlorophyll fluorescence profiles"]
    assert dict(result.facets["year"]) == {"2023": 1, "2024": 1}  # the data's years
    assert search(None, {"scope": "edi", "keyword": "shelf"}).total == 1


def test_time_range_and_bbox_filters(corpus, db):
    assert titles(search(None, {"begin": "2023-06-15", "end": "2023-07-01"})) == [
        "Chlorophyll fluorescence profiles"
    ]
    assert titles(search(None, {"begin": "2024-03-10"})) == ["Bottom temperature on the shelf"]
    assert titles(search(None, {"bbox": "-71,40,-69,42"})) == ["Bottom temperature on the shelf"]
    assert titles(search(None, {"bbox": "11,51,11.5,51.5"})) == ["Chlorophyll fluorescence profiles"]
    assert search(None, {"bbox": "1,2,3"}).errors


def test_only_the_latest_version_unless_asked(make_revision, db):
    first = make_revision(title="Series A")
    make_revision(package=first.package, title="Series A, second edition")
    assert titles(search(None, {"q": "Series"})) == ["Series A, second edition"]
    assert search(None, {"q": "Series", "all_versions": "1"}).total == 2


def test_sort_and_pagination(make_revision, db):
    for i in range(25):
        make_revision(title=f"Dataset {i:02d}")
    result = search(None, {"sort": "title"}, page_size=10)
    assert result.total == 25 and titles(result)[0] == "Dataset 00"
    page3 = search(None, {"sort": "title", "page": "3"}, page_size=10)
    assert titles(page3) == [f"Dataset {i}" for i in range(20, 25)]


def test_index_is_idempotent_and_drops_unpublished(make_revision, db):
    revision = make_revision()
    index_revision(revision)
    index_revision(revision)
    assert SearchDocument.objects.filter(pk=revision.pk).count() == 1
    assert [k for k in SearchDocument.objects.get(pk=revision.pk).facet_keys if k.startswith("keyword:")] == [
        "keyword:moorings",
        "keyword:temperature",
    ]
    Revision.objects.filter(pk=revision.pk).update(state=Revision.State.FAILED)
    index_revision(revision)
    assert not SearchDocument.objects.filter(pk=revision.pk).exists()


def test_search_page_and_api_access(client, api_client_factory, corpus, plain_user, data_manager):
    page = client.get("/search/", {"q": "temperature"})
    assert page.status_code == 200 and b"Bottom temperature on the shelf" in page.content
    assert b"Held temperature secrets" not in page.content
    client.force_login(data_manager)
    assert b"Held temperature secrets" in client.get("/search/", {"q": "temperature"}).content
    anonymous = api_client_factory(None).get("/api/search/", {"q": "temperature"}).json()
    assert anonymous["count"] == 1 and anonymous["results"][0]["doi"] == corpus["temp"].doi
    assert anonymous["facets"]["keyword"]
    plain = api_client_factory(plain_user).get("/api/search/", {"q": "temperature"}).json()
    assert plain["count"] == 1
    manager = api_client_factory(data_manager).get("/api/search/", {"q": "temperature"}).json()
    assert manager["count"] == 2
    bad = api_client_factory(None).get("/api/search/", {"bbox": "x"})
    assert bad.status_code == 400 and "bbox" in bad.json()["errors"][0]


def test_facets_over_many_matches_are_sampled_and_say_so(make_revision, monkeypatch, client):
    from apps.search import services

    for i in range(4):
        make_revision(title=f"Sampled {i}", keywords=["sampled"])
    monkeypatch.setattr(services, "FACET_SAMPLE", 2)
    result = search(None, {"q": "Sampled", "sort": "title"})
    assert result.total == 4 and result.facets_sampled and not result.total_capped
    assert dict(result.facets["keyword"]) == {"sampled": 2}
    assert client.get("/api/search/", {"q": "Sampled"}).json()["facets_sampled"] is True
    monkeypatch.setattr(services, "COUNT_LIMIT", 3)
    capped = search(None, {"q": "Sampled", "sort": "title"}, page_size=2)
    assert capped.total == 3 and capped.total_capped
    assert titles(capped) == ["Sampled 0", "Sampled 1"]
    body = client.get("/api/search/", {"q": "Sampled"}).json()
    assert body["count"] == 3 and body["count_capped"] is True


@pytest.mark.parametrize("state", [Revision.State.HELD, Revision.State.WITHDRAWN, Revision.State.TAINTED])
def test_a_state_change_by_any_path_leaves_public_results_at_once(corpus, plain_user, data_manager, state):
    """The search filters on the document's copy of the state; the database keeps the copy (trigger),
    so even a bare queryset update that reindexes nothing cannot leave a stale "published" behind."""
    revision = corpus["temp"]
    Revision.objects.filter(pk=revision.pk).update(state=state)  # no service, no signal, no index_revision
    assert SearchDocument.objects.get(pk=revision.pk).state == state
    for who in (None, plain_user):
        assert "Bottom temperature on the shelf" not in titles(search(who, {"q": "Bottom"}))
    assert "Bottom temperature on the shelf" in titles(search(data_manager, {"q": "Bottom"}))
    owner = revision.package.owner
    assert ("Bottom temperature on the shelf" in titles(search(owner, {"q": "Bottom"}))) is (
        state != Revision.State.TAINTED
    )
    Revision.objects.filter(pk=revision.pk).update(state=Revision.State.PUBLISHED)
    assert titles(search(plain_user, {"q": "Bottom"})) == ["Bottom temperature on the shelf"]


def test_the_cruise_people_see_their_held_data_in_search(
    corpus, cruise, chief_scientist, operator_user, plain_user
):
    Revision.objects.filter(pk=corpus["chl"].pk).update(state=Revision.State.HELD)
    for party in (chief_scientist, operator_user):
        assert titles(search(party, {"q": "Chlorophyll"})) == ["Chlorophyll fluorescence profiles"]
    assert titles(search(plain_user, {"q": "Chlorophyll"})) == []


def test_database_facet_counts_equal_counting_every_matched_document(make_revision, db):
    """PostgreSQL counts facets in SQL (top FACET_LIMIT of each kind); the counts and the order
    (count, then value) must be those of counting every matched document's keys here."""
    from apps.search import services

    for i in range(30):
        make_revision(
            title=f"Facet sample {i}",
            keywords=[f"kw{i % 7}", f"extra{i % 16}", "common"],
            creators=[{"name": f"Creator {i % 13}"}],
        )
    qs, _, _ = services.filtered(None, {"q": "Facet"})
    ids, facets = services._ranked_ids_and_facets(qs, with_facets=True)
    expected = services.facet_counts(SearchDocument.objects.get(pk=pk).facet_keys for pk in ids)
    assert len(ids) == 30
    assert facets == expected
    assert len(facets["keyword"]) == services.FACET_LIMIT and facets["keyword"][0] == ("common", 30)
    assert services._ranked_ids_and_facets(qs, with_facets=False) == (ids, None)


def test_facet_filters_with_text_give_the_same_documents_on_every_database(make_revision, db):
    """Facet filters test the document's facet_keys (PostgreSQL: containment through a GIN index; SQLite: json_each).
    Either way: only documents that carry every chosen value, and a value with a colon is not split."""
    a = make_revision(
        title="Moored current meters", keywords=["currents", "ratio: 1:2"], creators=[{"name": "Ada Byron"}]
    )
    make_revision(title="Drifting current buoys", keywords=["currents"], creators=[{"name": "Alan Turing"}])
    make_revision(title="Moored thermistors", keywords=["temperature"])
    assert titles(search(None, {"q": "current", "keyword": "currents", "sort": "title"})) == [
        "Drifting current buoys",
        "Moored current meters",
    ]
    assert titles(search(None, {"q": "current", "keyword": "currents", "creator": "Ada Byron"})) == [
        "Moored current meters"
    ]
    assert titles(search(None, {"keyword": "ratio: 1:2"})) == ["Moored current meters"]
    assert search(None, {"keyword": "ratio"}).total == 0
    assert search(None, {"q": "meters", "keyword": "currents", "creator": "Alan Turing"}).total == 0
    assert "keyword:ratio: 1:2" in SearchDocument.objects.get(pk=a.pk).facet_keys


def test_postgresql_keeps_the_text_out_of_the_row_and_searches_the_vector(make_revision, db):
    from django.db import connection

    revision = make_revision(
        title="Benthic oxygen fluxes",
        abstract="Chamber incubations at the seabed.",
        creators=[{"name": "Rachel Carson"}],
    )
    doc = SearchDocument.objects.get(pk=revision.pk)
    if connection.vendor == "postgresql":
        assert doc.text == "" and doc.vector
    else:
        assert "Chamber incubations" in doc.text
    for words in ("benthic", "incubations", "Carson", revision.package_id_text):
        assert titles(search(None, {"q": words})) == ["Benthic oxygen fluxes"], words


def test_reindex_search_rebuilds_documents_and_drops_stale_ones(make_revision, db):
    from django.core.management import call_command

    kept = make_revision(title="Reindexed sediment cores", keywords=["sediment"])
    gone = make_revision(title="No longer public")
    SearchDocument.objects.filter(pk=kept.pk).delete()
    Revision.objects.filter(pk=gone.pk).update(state=Revision.State.FAILED)  # its document stays stale
    out = io.StringIO()
    call_command("reindex_search", stdout=out)
    assert "Reindexed 1 revisions; dropped 1 stale rows." in out.getvalue()
    assert titles(search(None, {"keyword": "sediment"})) == ["Reindexed sediment cores"]
    assert not SearchDocument.objects.filter(pk=gone.pk).exists()


def test_on_postgresql_a_facet_filter_is_answered_by_the_facet_keys_index(make_revision, db):
    """The facet filter must be an expression the facet_keys GIN index serves (jsonb_path_ops answers @>),
    so at scale the planner can AND it with the text index instead of reading every match's row."""
    from django.db import connection

    from apps.search import services

    if connection.vendor != "postgresql":
        pytest.skip("GIN indexes are PostgreSQL's; SQLite filters with json_each")
    make_revision(title="Indexed facet filter", keywords=["plankton"])
    qs, _, _ = services.filtered(None, {"keyword": "plankton"})
    with connection.cursor() as cursor:
        # A tiny table would be read whole or walked in published_at order; leave the planner only bitmap
        # scans, which need an index whose condition is the filter itself.
        cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off")
        plan = qs.explain()
    assert "search_document_facet_keys_gin" in plan, plan
    assert titles(search(None, {"keyword": "plankton"})) == ["Indexed facet filter"]
