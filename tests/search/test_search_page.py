"""The search page as people and crawlers meet it: one creator per person, the data's years, filters
that can be removed, links crawlers do not follow, and a reversed date range that says so."""

from __future__ import annotations

import re

import pytest

from apps.search.models import SearchCreator
from apps.search.services import search

pytestmark = pytest.mark.django_db

ORCID = "0000-0001-5109-3700"


def creator_facet(result) -> dict[str, int]:
    return {result.label("creator", key): n for key, n in result.facets["creator"]}


def test_one_person_is_one_creator_by_orcid_then_by_normalised_name(make_revision):
    # The same ORCID, spelled three ways (one as a URL).
    make_revision(creators=[{"name": "Grace Hopper", "given": "Grace", "family": "Hopper", "orcid": ORCID}])
    make_revision(creators=[{"name": "G. M. Hopper", "orcid": f"https://orcid.org/{ORCID}"}])
    # No ORCID: accents, case and "Family, Given" do not make another person.
    make_revision(creators=[{"name": "José Núñez"}])
    make_revision(creators=[{"name": "NUNEZ, JOSE"}])
    make_revision(creators=[{"given": "José", "family": "Núñez"}])
    # A name seen first without an ORCID, then with one: still one person, whatever the order.
    make_revision(creators=[{"name": "Marie Tharp"}])
    make_revision(creators=[{"name": "Tharp, Marie", "orcid": "0000-0002-1111-2222"}])

    facet = creator_facet(search(None, {}))
    assert facet == {"Hopper, Grace": 2, "José Núñez": 3, "Marie Tharp": 2}
    assert SearchCreator.objects.get(name_key="marie tharp").orcid == "0000-0002-1111-2222"
    # A typed name finds the person too, in any of their spellings.
    assert search(None, {"creator": "Núñez, José"}).total == 3
    assert search(None, {"creator": "grace hopper"}).total == 2


def test_two_people_with_one_name_and_two_orcids_stay_two(make_revision):
    make_revision(creators=[{"name": "Li Wei", "orcid": "0000-0003-0000-0001"}])
    make_revision(creators=[{"name": "Li Wei", "orcid": "0000-0003-0000-0002"}])
    assert sorted(n for _, n in search(None, {}).facets["creator"]) == [1, 1]


def test_year_facet_is_the_years_the_data_covers_not_the_publication_year(make_revision):
    make_revision(title="Winter series", coverage={"begin": "2019-11-01", "end": "2021-02-28"})
    make_revision(title="Old cruise", coverage={"begin": "1998-07-01", "end": "1998-07-20"})
    make_revision(title="No dates", coverage={})
    result = search(None, {})
    assert dict(result.facets["year"]) == {"2019": 1, "2020": 1, "2021": 1, "1998": 1}
    assert [d.revision.title for d in search(None, {"year": "2020"}).page.object_list] == ["Winter series"]


def test_selected_facet_is_a_removable_filter_not_a_link(client, make_revision):
    make_revision(title="Shelf temps", keywords=["temperature", "shelf"])
    make_revision(title="Chl", keywords=["chlorophyll"])
    html = client.get("/search/", {"q": "", "keyword": "temperature"}).content.decode()
    # Shown as a filter, with a link that removes it (and keeps the rest of the search).
    active = re.search(r'<ul class="active-filters".*?</ul>', html, re.S).group(0)
    assert "Keyword: temperature" in active
    remove = re.search(r'href="([^"]*)"[^>]*aria-label="Remove filter Keyword: temperature"', active).group(1)
    assert "keyword=temperature" not in remove and "q=" in remove
    follow = client.get("/search/" + remove.replace("&amp;", "&"))
    assert follow.context["result"].total == 2
    # In the sidebar the selected value is text, not a link that adds it again.
    sidebar = re.search(r'<details class="facets".*?</details>', html, re.S).group(0)
    assert re.search(r'<span class="selected">temperature</span>', sidebar)
    assert "keyword=temperature&amp;keyword=temperature" not in html


def test_facet_links_are_nofollow(client, make_revision):
    make_revision(keywords=["temperature"])
    html = client.get("/search/").content.decode()
    facet_links = re.findall(r'<a href="\?[^"]*(?:keyword|creator|year|scope|format)=[^"]*"[^>]*>', html)
    assert facet_links
    assert all('rel="nofollow"' in a for a in facet_links), facet_links


def test_robots_txt_keeps_crawlers_off_facet_combinations_and_on_landing_pages(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert "Disallow: /search/?" in lines
    assert "Allow: /dataset/" in lines
    assert any(line.startswith("#") and "/oai?verb=Identify" in line for line in lines)


def test_reversed_date_range_says_so(client, api_client_factory, make_revision):
    make_revision(coverage={"begin": "2024-03-01", "end": "2024-03-20"})
    page = client.get("/search/", {"begin": "2024-04-01", "end": "2024-03-01"})
    assert "The date range is reversed" in page.content.decode()
    assert "Swap them" in page.content.decode()
    api = api_client_factory(None).get("/api/search/", {"begin": "2024-04-01", "end": "2024-03-01"})
    assert api.status_code == 400
    assert "reversed" in api.json()["errors"][0]


def test_results_show_creators_data_years_access_doi_and_version(client, make_revision):
    revision = make_revision(title="Shelf temps")
    html = client.get("/search/").content.decode()
    result = re.search(r'<li class="result">.*?</li>\s*\n', html, re.S).group(0)
    assert "Shelf temps" in result
    assert "Lovelace, Ada" in result and "Shelf Observing Network" in result
    assert "2024-03-01 – 2024-03-20" in result
    assert "Public" in result
    assert revision.doi and revision.doi in result
    assert "<dt>Version</dt><dd>1" in result


def test_dates_and_area_are_removable_filters_too(client, make_revision):
    make_revision()
    html = client.get("/search/", {"begin": "2024-01-01", "bbox": "-75,35,-60,45"}).content.decode()
    active = re.search(r'<ul class="active-filters".*?</ul>', html, re.S).group(0)
    assert "Data from: 2024-01-01" in active and "Area: -75,35,-60,45" in active
    remove = re.search(r'href="([^"]*)"[^>]*aria-label="Remove filter Area: -75,35,-60,45"', active).group(1)
    assert "bbox" not in remove and "begin=2024-01-01" in remove
