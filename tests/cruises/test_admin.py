import pytest

PAGES = [
    "/admin/cruises/cruise/",
    "/admin/cruises/vessel/",
    "/admin/cruises/cruisefile/",
    "/admin/eventlogs/instrument/",
    "/admin/eventlogs/event/",
    "/admin/reviews/review/",
    "/admin/reviews/fieldchange/",
    "/admin/holds/hold/",
]


@pytest.mark.parametrize("url", PAGES)
def test_data_managers_see_the_admin_lists_others_do_not(client, data_manager, operator_user, cruise, url):
    client.force_login(operator_user)
    assert client.get(url).status_code == 302  # not staff: the admin's own login page
    client.force_login(data_manager)
    assert client.get(url).status_code == 200


def test_cruises_are_read_only_in_the_admin(client, data_manager, cruise):
    client.force_login(data_manager)
    assert client.get("/admin/cruises/cruise/add/").status_code == 403
    assert (
        client.post(f"/admin/cruises/cruise/{cruise.pk}/change/", {"cruise_id": "HACKED"}).status_code == 403
    )
