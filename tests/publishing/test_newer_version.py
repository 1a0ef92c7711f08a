"""An old version's landing page says a newer version exists and links it (as Zenodo does)."""

from __future__ import annotations

from apps.publishing import services


def page_url(revision) -> str:
    return f"/dataset/{revision.package.scope}/{revision.package.identifier}/{revision.number}/"


def test_an_old_version_links_the_newest_published_one(client, make_revision):
    first = make_revision()
    second = make_revision(package=first.package, title="Second edition")
    html = client.get(page_url(first)).content.decode()
    assert "A newer version exists" in html
    assert f'href="/dataset/{first.package.scope}/{first.package.identifier}/{second.number}/"' in html


def test_the_newest_version_and_the_latest_url_say_nothing_of_newer_versions(client, make_revision):
    first = make_revision()
    second = make_revision(package=first.package)
    assert b"A newer version exists" not in client.get(page_url(second)).content
    latest = f"/dataset/{first.package.scope}/{first.package.identifier}/"
    assert b"A newer version exists" not in client.get(latest).content


def test_a_newer_version_that_is_not_published_is_not_announced(client, make_revision):
    first = make_revision()
    make_revision("held", package=first.package)
    assert b"A newer version exists" not in client.get(page_url(first)).content


def test_a_withdrawn_old_version_also_points_to_the_newest(client, make_revision, data_manager):
    first = make_revision()
    second = make_revision(package=first.package)
    services.withdraw(first, reason="Superseded", user=data_manager)
    html = client.get(page_url(first)).content.decode()
    assert "A newer version exists" in html and f"version {second.number}</a>" in html
