"""The event-log page as the server renders it: what it carries for its script, the form's path without
JavaScript, and the ship's position from a navigation feed (browser journeys: tests/browser)."""

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from apps.eventlogs.models import Instrument
from apps.eventlogs.position import FeedError, parse_fix
from tests.support.httpserver import LocalServer

pytestmark = pytest.mark.django_db


def page_of(client, cruise, query: str = "") -> str:
    response = client.get(f"/eventlogs/{cruise.pk}/{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_without_javascript_the_redirect_keeps_instrument_station_and_cast(
    open_eventlog, cruise, shipboard_staff, client
):
    client.force_login(shipboard_staff)
    entry = {
        "instrument": "NET",
        "action": "deploy",
        "station": "S 3&4",
        "cast": "2",
        "idempotency_key": "n1",
    }
    response = client.post(f"/eventlogs/{cruise.pk}/", entry)
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert parse_qs(target.query) == {"instrument": ["NET"], "station": ["S 3&4"], "cast": ["2"]}
    html = page_of(client, cruise, f"?{target.query}")
    assert '<option value="NET" selected>' in html
    assert 'name="station" value="S 3&amp;4"' in html and 'name="cast" value="2"' in html


def test_the_action_is_a_choice_from_the_instruments_vocabulary(
    open_eventlog, cruise, shipboard_staff, client
):
    client.force_login(shipboard_staff)
    html = page_of(client, cruise)
    assert '<select name="action"' in html and 'list="actions"' not in html
    ctd = re.search(r'<optgroup label="CTD">(.*?)</optgroup>', html, re.S).group(1)
    assert re.findall(r'<option value="([^"]*)"', ctd) == Instrument.objects.get(code="CTD").actions
    # The script's copy of the vocabulary: a JSON data block, which the page's CSP does not run.
    block = re.search(r'<script id="el-vocab" type="application/json">(.*?)</script>', html, re.S).group(1)
    vocab = json.loads(block)
    assert vocab["CTD"] == Instrument.objects.get(code="CTD").actions + ["amendment"]
    assert vocab["SHIP"].count("amendment") == 1


def test_the_page_tells_its_script_where_to_send_and_where_to_sign_in_again(
    open_eventlog, cruise, shipboard_staff, client
):
    client.force_login(shipboard_staff)
    html = page_of(client, cruise)
    assert f'data-api="/api/eventlogs/{cruise.pk}/entries/"' in html
    assert f'data-login="/accounts/login/?next=%2Feventlogs%2F{cruise.pk}%2F"' in html
    assert 'data-csrf-cookie="csrftoken"' in html


def test_without_a_feed_the_position_button_says_it_is_the_devices(
    open_eventlog, cruise, shipboard_staff, client, settings
):
    settings.EVENTLOG_POSITION_FEED_URL = ""
    client.force_login(shipboard_staff)
    html = page_of(client, cruise)
    assert "Use this device&#x27;s position" in html or "Use this device's position" in html
    assert (
        "ship&#x27;s position" not in html and "ship's position" not in html and "data-position" not in html
    )
    assert client.get(f"/eventlogs/{cruise.pk}/position/").status_code == 404


def test_with_a_feed_the_ship_position_comes_from_the_portal(
    open_eventlog, cruise, shipboard_staff, client, settings, tmp_path
):
    with LocalServer(tmp_path) as nav:
        nav.routes["/fix"] = (
            200,
            {"Content-Type": "application/json"},
            json.dumps(
                {"latitude": 32.71234567, "longitude": -117.2, "time": "2026-11-30T06:00:00Z"}
            ).encode(),
        )
        settings.EVENTLOG_POSITION_FEED_URL = f"{nav.url}/fix"
        client.force_login(shipboard_staff)
        html = page_of(client, cruise)
        assert f'data-position="/eventlogs/{cruise.pk}/position/"' in html
        response = client.get(f"/eventlogs/{cruise.pk}/position/")
    assert response.status_code == 200
    assert response.json() == {
        "latitude": 32.712346,
        "longitude": -117.2,
        "time": "2026-11-30T06:00:00Z",
        "source": "navigation feed",
    }


def test_a_feed_that_does_not_answer_is_a_502_with_what_went_wrong(
    open_eventlog, cruise, shipboard_staff, client, settings, tmp_path
):
    with LocalServer(tmp_path) as nav:
        nav.routes["/fix"] = (200, {"Content-Type": "text/plain"}, b"$GPGGA,garbage")
        settings.EVENTLOG_POSITION_FEED_URL = f"{nav.url}/fix"
        client.force_login(shipboard_staff)
        not_json = client.get(f"/eventlogs/{cruise.pk}/position/")
        settings.EVENTLOG_POSITION_FEED_URL = f"{nav.url}/missing"
        missing = client.get(f"/eventlogs/{cruise.pk}/position/")
    assert not_json.status_code == 502 and "did not answer JSON" in not_json.json()["error"]
    assert missing.status_code == 502 and "did not answer" in missing.json()["error"]


def test_only_the_logs_writers_read_the_ships_position(
    open_eventlog, cruise, chief_scientist, data_manager, plain_user, client, settings
):
    settings.EVENTLOG_POSITION_FEED_URL = "http://127.0.0.1:9/never-asked"
    assert client.get(f"/eventlogs/{cruise.pk}/position/").status_code == 403  # anonymous
    for user in (plain_user, data_manager):  # a data manager reads the log but does not write it
        client.force_login(user)
        assert client.get(f"/eventlogs/{cruise.pk}/position/").status_code == 403


@pytest.mark.parametrize(
    "doc, expected",
    [
        ({"lat": "10.5", "lon": "-20"}, (10.5, -20.0, None)),
        ({"type": "Point", "coordinates": [-20, 10.5]}, (10.5, -20.0, None)),
        (
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [5, 6]},
                "properties": {"time": "t"},
            },
            (6.0, 5.0, "t"),
        ),
    ],
)
def test_the_feed_may_answer_plain_json_or_geojson(doc, expected):
    fix = parse_fix(doc)
    assert (fix["latitude"], fix["longitude"], fix["time"]) == expected


@pytest.mark.parametrize(
    "doc", [[1, 2], {"latitude": 91, "longitude": 0}, {"longitude": 3}, {"type": "Point"}]
)
def test_a_feed_answer_without_a_position_in_range_is_refused(doc):
    with pytest.raises(FeedError):
        parse_fix(doc)
