import re

import pytest

from apps.deliveries.models import InventoryFile
from apps.distributions import services
from apps.distributions.classify import glob_to_regex
from apps.distributions.models import Dataset
from portal.errors import Conflict, Forbidden, UserError

from .conftest import TEMPLATE_RULES

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("multibeam/**", "multibeam/EM124/raw/a.kmall", True),
        ("multibeam/EM124/**/*.kmall", "multibeam/EM124/a.kmall", True),  # ** is zero or more folders
        ("multibeam/EM124/**/*.kmall", "multibeam/EM124/raw/l1/a.kmall", True),
        ("multibeam/EM124/**/*.kmall", "multibeam/EM124/raw/a.all", False),
        ("ctd/*/cast*/*", "ctd/SBE911/cast001/c.hex", True),
        ("ctd/*/cast*/*", "ctd/SBE911/notes.txt", False),  # * never crosses a folder
        ("adcp/OS75/", "adcp/OS75/x.ENR", True),  # a folder takes everything below it
        ("adcp/OS75/", "adcp/OS750/x.ENR", False),
        ("met/MET_2024030[0-9].csv", "met/MET_20240302.csv", True),
        ("met/[!x]*.csv", "met/MET.csv", True),
        ("docs/a+b (1).pdf", "docs/a+b (1).pdf", True),  # regex characters are literal
    ],
)
def test_globs_match_paths_as_documented(pattern, path, matches):
    assert bool(re.fullmatch(glob_to_regex(pattern), path)) is matches


def test_vessel_profile_overrides_the_fleet_template_by_class(profiles):
    template, vessel = profiles
    rules = vessel.effective_rules()
    assert [r.instrument_class for r in rules] == ["multibeam", "ctd", "adcp", "adcp", "navigation"]
    assert rules[0].pattern == "multibeam/EM124/**/*.kmall"  # the vessel's own, not the template's


def test_preview_shows_datasets_and_what_matched_nothing_then_commit_after_adjusting(
    delivery, profiles, data_manager
):
    _, vessel = profiles
    preview = services.preview(delivery, vessel)
    by_system = {(g.instrument_class, g.model): g.files for g in preview.groups}
    assert by_system == {
        ("multibeam", "EM124"): 3,
        ("ctd", "SBE911plus"): 3,
        ("adcp", "OS75"): 2,
        ("adcp", "OS150"): 1,
        ("navigation", "POS MV"): 2,
    }
    assert preview.unmatched == sorted(
        [
            "multibeam/EM122/legacy/0001.all",
            "ctd/SBE911/notes.txt",
            "met/MET_20240302.csv",
            "README.txt",
            "tmp/junk.bak",
        ]
    )
    assert dict(preview.unmatched_folders)["multibeam/EM122/legacy"] == 1
    assert (
        not InventoryFile.objects.filter(delivery=delivery).exclude(instrument_class="").exists()
    )  # nothing written

    # The data manager adds the meteorology folder and previews again.
    services.save_profile(
        data_manager,
        name=vessel.name,
        operator=vessel.operator,
        vessel=vessel.vessel,
        template=vessel.template,
        profile=vessel,
        rules=[
            {
                "instrument_class": "multibeam",
                "vendor": "Kongsberg",
                "model": "EM124",
                "pattern": "multibeam/EM124/**/*.kmall",
            },
            {"instrument_class": "meteorology", "vendor": "", "model": "", "pattern": "met/*.csv"},
        ],
    )
    with pytest.raises(Conflict):  # the rules changed since that preview
        services.commit_classification(delivery, vessel, data_manager, expected=preview.fingerprint)
    again = services.preview(delivery, vessel)
    assert again.unmatched_files == 4
    datasets = services.commit_classification(delivery, vessel, data_manager, expected=again.fingerprint)
    assert len(datasets) == 6
    classes = dict(InventoryFile.objects.filter(delivery=delivery).values_list("path", "instrument_class"))
    assert classes["multibeam/EM124/raw/line002/0003_20240303_080000.kmall"] == "multibeam"
    assert classes["adcp/OS150/os150_001.ENR"] == "adcp"
    assert classes["met/MET_20240302.csv"] == "meteorology"
    assert classes["README.txt"] == "" and classes["multibeam/EM122/legacy/0001.all"] == ""
    os75 = Dataset.objects.get(delivery=delivery, model="OS75")
    assert sorted(os75.members.values_list("file__path", flat=True)) == [
        "adcp/OS75/os75_001.ENR",
        "adcp/OS75/os75_001.LTA",
    ]
    assert os75.bytes_total == len(b"enr adcp 75") + len(b"lta adcp 75")


def test_classification_reads_the_inventory_in_bulk(
    delivery, profiles, data_manager, django_assert_max_num_queries
):
    """Thousands of rows cost a handful of queries (a chunked read, a few bulk UPDATEs and INSERTs)."""
    _, vessel = profiles
    InventoryFile.objects.bulk_create(
        InventoryFile(delivery=delivery, path=f"nav/posmv/2024/04/{i:05d}.gps", size=10, sha256=f"{i:064x}")
        for i in range(3000)
    )
    fingerprint = services.preview(delivery, vessel).fingerprint
    with django_assert_max_num_queries(40):
        datasets = services.commit_classification(delivery, vessel, data_manager, expected=fingerprint)
    nav = next(d for d in datasets if d.instrument_class == "navigation")
    assert nav.files_count == 3002


def test_profiles_and_classification_are_for_data_managers(delivery, profiles, operator_user, vessel):
    _, profile = profiles
    with pytest.raises(Forbidden):
        services.save_profile(
            operator_user,
            name="x",
            operator=vessel.operator,
            vessel=None,
            template=None,
            rules=TEMPLATE_RULES_BAD,
        )
    with pytest.raises(Forbidden):
        services.commit_classification(delivery, profile, operator_user, expected="")


TEMPLATE_RULES_BAD = [{"instrument_class": "sonar", "pattern": "../x"}]


def test_bad_rules_are_refused_with_what_to_fix(delivery, data_manager, vessel):
    with pytest.raises(UserError) as refused:
        services.save_profile(
            data_manager,
            name="Bad",
            operator=vessel.operator,
            vessel=None,
            template=None,
            rules=[
                {"instrument_class": "sonar", "pattern": "x/"},
                {"instrument_class": "ctd", "pattern": "../up"},
            ],
        )
    assert "rule 1: instrument class 'sonar'" in refused.value.message
    assert "rule 2" in refused.value.message and ".." in refused.value.message


def test_a_data_manager_edits_a_profile_previews_and_commits_in_the_browser(delivery, data_manager, client):
    client.force_login(data_manager)
    cruise = delivery.cruise
    created = client.post(
        "/distributions/profiles/new/",
        {
            "name": "Browser profile",
            "operator": cruise.operator_id,
            "vessel": cruise.vessel_id,
            "rules": "adcp | Teledyne RDI | OS75 | adcp/OS75/\nnavigation | | | nav/**/*.gps\n",
        },
    )
    assert created.status_code == 302
    page = client.get(f"/distributions/deliveries/{delivery.pk}/classify/")
    assert b"adcp/OS75/os75_001.ENR" in page.content and b"12 match no rule" in page.content
    fingerprint = page.context["result"].fingerprint
    committed = client.post(
        f"/distributions/deliveries/{delivery.pk}/classify/",
        {"profile": page.context["profile"].pk, "fingerprint": fingerprint},
    )
    assert committed.status_code == 302
    assert sorted(Dataset.objects.filter(delivery=delivery).values_list("model", flat=True)) == ["", "OS75"]
    refused = client.post(
        "/distributions/profiles/new/",
        {"name": "Bad", "operator": cruise.operator_id, "rules": "sonar | | | x/"},
    )
    assert refused.status_code == 400 and b"instrument class" in refused.content


def test_profiles_and_classification_by_api(delivery, data_manager, operator_user):
    from tests.conftest import api_client_for

    api = api_client_for(data_manager)
    cruise = delivery.cruise
    template = api.post(
        "/api/distributions/profiles/",
        {"name": "Fleet", "operator": cruise.operator_id, "rules": TEMPLATE_RULES},
        format="json",
    )
    assert template.status_code == 201, template.content
    vessel = api.post(
        "/api/distributions/profiles/",
        {
            "name": "Vessel",
            "operator": cruise.operator_id,
            "vessel": cruise.vessel_id,
            "template": template.json()["id"],
            "rules": [{"instrument_class": "multibeam", "pattern": "multibeam/EM122/"}],
        },
        format="json",
    )
    assert vessel.status_code == 201, vessel.content
    assert vessel.json()["effective_rules"][0]["pattern"] == "multibeam/EM122/"
    url = f"/api/distributions/deliveries/{delivery.pk}/classification/"
    preview = api.get(url).json()  # the vessel's profile by default
    assert preview["profile"] == vessel.json()["id"]
    assert {d["model"]: d["files"] for d in preview["datasets"]}["OS75"] == 2
    assert "multibeam/EM124/raw/line001/0001_20240302_120000.kmall" in preview["unmatched"]["paths"]
    committed = api.post(
        url, {"profile": preview["profile"], "fingerprint": preview["fingerprint"]}, format="json"
    )
    assert committed.status_code == 201 and len(committed.json()["datasets"]) == 5
    assert api_client_for(operator_user).get(url).status_code == 403
    assert api.get(url + "?profile=abc").status_code == 400


def test_committing_a_classification_queues_the_cruises_track(
    delivery, profiles, data_manager, django_capture_on_commit_callbacks, monkeypatch
):
    """Navigation listens to ``delivery_classified``: the files of class ``navigation`` become the cruise's
    track (built by the worker; here the queued task is only recorded)."""
    from apps.navigation import tasks as nav_tasks
    from apps.navigation.models import Track
    from portal import tasks as portal_tasks

    queued = []
    real_dispatch = portal_tasks.dispatch
    monkeypatch.setattr(
        portal_tasks,
        "dispatch",
        lambda task, *args, **kw: (
            queued.append((task, args))
            if task is nav_tasks.build_delivery_navigation
            else real_dispatch(task, *args, **kw)
        ),
    )
    _, vessel = profiles
    fingerprint = services.preview(delivery, vessel).fingerprint
    with django_capture_on_commit_callbacks(execute=True):
        services.commit_classification(delivery, vessel, data_manager, expected=fingerprint)
    track = Track.objects.get(cruise=delivery.cruise)
    assert track.state == Track.State.PENDING and track.delivery_id == delivery.pk
    assert queued == [(nav_tasks.build_delivery_navigation, (delivery.pk,))]
