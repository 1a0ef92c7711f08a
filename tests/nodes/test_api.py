"""The node API (issue 15 §3 contract): node tokens, registering, reporting with its drop list, and the
torrent a node fetches by infohash."""

from __future__ import annotations

import pytest

from apps.access import roles
from apps.audit.models import AuditEvent
from apps.nodes import services
from apps.nodes.models import Node, NodeHolding
from tests.conftest import api_client_for

from .conftest import bearer, holding, torrent_of

pytestmark = pytest.mark.django_db

REGISTRATION = {
    "name": "Basement rack",
    "budget_bytes": 500 * 10**9,
    "subjects": ["oceanography"],
    "scopes": ["edi"],
    "upload_limit": 1_000_000,
    "download_limit": 0,
    "client": "quayside-node/0.1",
}


def test_a_token_is_issued_once_and_only_its_hash_is_kept(node_operator):
    node, key = services.issue_node(node_operator, "Node one")
    assert key.startswith("qn_") and len(key) > 40
    assert key not in (node.key_hash, node.hint) and node.hint == key[:10]
    assert Node.lookup(key) == node and Node.lookup(key + "x") is None
    assert AuditEvent.objects.filter(
        service_method="issue_node_token", resource_id=f"node/{node.pk}"
    ).exists()


def test_register_answers_where_to_read_and_report(node_client, node_and_key, settings):
    settings.NODES_POLL_SECONDS = 123
    response = node_client.post("/api/nodes/register", REGISTRATION, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    node = Node.objects.get(pk=node_and_key[0].pk)
    assert body == {
        "node": node.pk,
        "name": "Basement rack",
        "catalog_url": "http://testserver/catalog/stac.parquet",
        "health_url": "http://testserver/swarm/health.parquet",
        "report_url": "http://testserver/api/nodes/report",
        "torrent_url": "http://testserver/swarm/torrents/{infohash}.torrent",
        "poll_seconds": 123,
    }
    assert node.budget_bytes == 500 * 10**9 and node.subjects == ["oceanography"] and node.scopes == ["edi"]
    assert node.upload_limit == 1_000_000 and node.client == "quayside-node/0.1"
    assert node.registered_at is not None and node.last_seen_at is not None
    event = AuditEvent.objects.get(service_method="register_node")
    assert event.resource_id == f"node/{node.pk}" and event.auth_system == "node-token"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"budget_bytes": -1}, "budget_bytes"),
        ({"budget_bytes": "500 GB"}, "budget_bytes"),
        ({"budget_bytes": None}, "budget_bytes"),
        ({"subjects": "oceanography"}, "subjects"),
        ({"scopes": [1]}, "scopes"),
        ({"upload_limit": 1.5}, "upload_limit"),
        ({"download_limit": True}, "download_limit"),
        ({"client": 7}, "client"),
        ({"name": "x" * 101}, "name"),
    ],
)
def test_register_refuses_bad_values_saying_which_field(node_client, change, field):
    response = node_client.post("/api/nodes/register", {**REGISTRATION, **change}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{field}:")


def test_register_needs_a_budget(node_client):
    body = {k: v for k, v in REGISTRATION.items() if k != "budget_bytes"}
    response = node_client.post("/api/nodes/register", body, format="json")
    assert response.status_code == 400 and "budget_bytes: required" in response.json()["detail"]


def test_a_json_array_is_a_400(node_client):
    response = node_client.post("/api/nodes/register", [1, 2], format="json")
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/api/nodes/register", "/api/nodes/report"])
def test_missing_unknown_revoked_or_personal_tokens_are_401(path, node_operator, node_and_key):
    node, key = node_and_key
    answers = [
        anonymous_api().post(path, {}, format="json"),
        bearer("qn_" + "x" * 43).post(path, {}, format="json"),
        bearer("not-a-node-token").post(path, {}, format="json"),
        api_client_for(node_operator).post(path, {}, format="json"),  # a personal API token is not a node's
    ]
    services.revoke_node(node_operator, node.pk)
    answers.append(bearer(key).post(path, {}, format="json"))
    for response in answers:
        assert response.status_code == 401, response.content
        assert response["Content-Type"] == "application/json" and response.json()["detail"]
        assert response["WWW-Authenticate"].startswith("Bearer")


def anonymous_api():  # noqa: N802 (reads as the client it is)
    from rest_framework.test import APIClient

    return APIClient()


def test_an_operator_who_lost_the_role_gets_403(node_client, node_operator):
    node_operator.groups.remove(node_operator.groups.get(name=roles.NODE_OPERATOR))
    response = node_client.post("/api/nodes/register", REGISTRATION, format="json")
    assert response.status_code == 403 and "node operators" in response.json()["detail"]


def test_an_inactive_operators_token_is_401(node_client, node_operator):
    node_operator.is_active = False
    node_operator.save(update_fields=["is_active"])
    assert node_client.post("/api/nodes/register", REGISTRATION, format="json").status_code == 401


def test_the_node_api_takes_only_post(node_client):
    assert node_client.get("/api/nodes/report").status_code == 405


# --- report ------------------------------------------------------------------------------------------


def test_a_report_replaces_holdings_and_lists_what_to_drop(node_client, node_and_key):
    node = node_and_key[0]
    public, partial = torrent_of(), torrent_of()
    withdrawn, tainted, held = torrent_of("withdrawn"), torrent_of("tainted"), torrent_of("held")
    unknown = "ab" * 20
    body = {
        "holdings": [
            holding(public, size=1000),
            holding(partial, held=3, total=16, size=300),
            holding(withdrawn),
            holding(tainted),
            holding(held),
            holding(unknown),
        ],
        "uploaded": 5000,
        "downloaded": 7000,
    }
    response = node_client.post("/api/nodes/report", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "accepted": 2,
        "drop": sorted([withdrawn.infohash, tainted.infohash, held.infohash, unknown]),
    }
    rows = {h.torrent_id: h for h in NodeHolding.objects.filter(node=node)}
    assert set(rows) == {public.pk, partial.pk}
    assert rows[public.pk].complete and not rows[partial.pk].complete
    assert rows[partial.pk].pieces_held == 3 and rows[partial.pk].bytes_held == 300
    node.refresh_from_db()
    assert node.bytes_held == 1300 and node.uploaded == 5000 and node.downloaded == 7000
    assert node.torrents_held == 2
    assert node.last_seen_at is not None

    # The next report replaces the holdings (uppercase hex is the same infohash), writing only what changed.
    unchanged = NodeHolding.objects.get(node=node, torrent=partial)
    again = node_client.post(
        "/api/nodes/report",
        {"holdings": [holding(partial.infohash.upper(), held=3, size=300)]},
        format="json",
    )
    assert again.json() == {"accepted": 1, "drop": []}
    assert list(NodeHolding.objects.filter(node=node).values_list("pk", flat=True)) == [unchanged.pk]
    # A holding that changed is rewritten: the partial copy is now whole.
    node_client.post("/api/nodes/report", {"holdings": [holding(partial, size=1000)]}, format="json")
    now_whole = NodeHolding.objects.get(node=node)
    assert now_whole.complete and now_whole.bytes_held == 1000 and now_whole.updated_at > unchanged.updated_at
    node.refresh_from_db()
    assert node.torrents_held == 1 and node.bytes_held == 1000


def test_a_version_withdrawn_after_the_report_is_dropped_at_the_next(node_client):
    torrent = torrent_of()
    body = {"holdings": [holding(torrent)]}
    assert node_client.post("/api/nodes/report", body, format="json").json()["drop"] == []
    from apps.publishing import services as publishing

    publishing.withdraw(torrent.revision, reason="Wrong calibration", category="data-error")
    assert node_client.post("/api/nodes/report", body, format="json").json()["drop"] == [torrent.infohash]


@pytest.mark.parametrize(
    ("item", "says"),
    [
        ({"infohash": "xyz", "pieces_held": 1, "pieces_total": 1, "bytes_held": 1}, "holdings[0].infohash"),
        (
            {"infohash": "ab" * 20, "pieces_held": 2, "pieces_total": 1, "bytes_held": 1},
            "holdings[0].pieces_held",
        ),
        ({"infohash": "ab" * 20, "pieces_held": 1, "pieces_total": 1}, "holdings[0].bytes_held: required"),
        (
            {"infohash": "ab" * 20, "pieces_held": -1, "pieces_total": 1, "bytes_held": 1},
            "holdings[0].pieces_held",
        ),
        ("ab" * 20, "holdings[0]: must be an object"),
    ],
)
def test_a_bad_holding_is_a_400_naming_it_and_changes_nothing(node_client, node_and_key, item, says):
    torrent = torrent_of()
    node_client.post("/api/nodes/report", {"holdings": [holding(torrent)]}, format="json")
    response = node_client.post("/api/nodes/report", {"holdings": [item]}, format="json")
    assert response.status_code == 400 and response.json()["detail"].startswith(says)
    assert NodeHolding.objects.filter(node=node_and_key[0]).count() == 1


def test_a_report_past_the_limit_is_a_400(node_client, settings):
    settings.NODES_REPORT_MAX_HOLDINGS = 2
    body = {"holdings": [holding(f"{i:040x}") for i in range(3)]}
    response = node_client.post("/api/nodes/report", body, format="json")
    assert response.status_code == 400 and "at most 2" in response.json()["detail"]
    assert (
        node_client.post("/api/nodes/report", {"holdings": body["holdings"][:2]}, format="json").status_code
        == 200
    )


def test_a_report_may_be_larger_than_a_form_body(node_client, settings):
    # DATA_UPLOAD_MAX_MEMORY_SIZE bounds form bodies (10 MB); 100,000 holdings are about 11 MB of JSON.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    torrent = torrent_of()
    body = {"holdings": [holding(torrent)] + [holding(f"{i:040x}") for i in range(50)]}
    response = node_client.post("/api/nodes/report", body, format="json")
    assert response.status_code == 200 and response.json()["accepted"] == 1


def test_a_report_body_past_its_bound_is_a_400(node_client, settings):
    settings.NODES_REPORT_MAX_HOLDINGS = 1
    body = {"holdings": [], "padding": "x" * 70_000}
    response = node_client.post("/api/nodes/report", body, format="json")
    assert response.status_code == 400 and "larger than" in response.json()["detail"]


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b""])
def test_a_report_that_is_not_a_json_object_is_a_400(node_client, body):
    response = node_client.post("/api/nodes/report", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["detail"]


def test_a_report_without_holdings_is_a_400(node_client):
    response = node_client.post("/api/nodes/report", {"uploaded": 1}, format="json")
    assert response.status_code == 400 and response.json()["detail"].startswith("holdings:")


def test_a_large_report_takes_few_queries(node_client, django_assert_max_num_queries):
    torrents = [torrent_of() for _ in range(3)]
    body = {"holdings": [holding(t) for t in torrents] + [holding(f"{i:040x}") for i in range(2000)]}
    with django_assert_max_num_queries(15):
        response = node_client.post("/api/nodes/report", body, format="json")
    assert response.json()["accepted"] == 3 and len(response.json()["drop"]) == 2000


def test_revoking_a_node_drops_its_holdings(node_client, node_and_key, node_operator):
    node_client.post("/api/nodes/report", {"holdings": [holding(torrent_of())]}, format="json")
    services.revoke_node(node_operator, node_and_key[0].pk)
    assert not NodeHolding.objects.exists()
    assert AuditEvent.objects.filter(service_method="revoke_node_token").count() == 1


# --- the torrent by infohash -------------------------------------------------------------------------


def test_the_torrent_by_infohash_is_the_versions_torrent(client):
    from tests.swarm.conftest import build, make_version, torrent_bytes

    torrent = build(make_version())
    response = client.get(f"/swarm/torrents/{torrent.infohash}.torrent")
    assert response.status_code == 200 and response["Content-Type"] == "application/x-bittorrent"
    assert response.content == torrent_bytes(torrent)
    ident = torrent.revision.package.identifier
    assert response.content == client.get(f"/dataset/edi/{ident}/1/torrent").content


def test_the_torrent_by_infohash_is_404_unknown_or_held_and_410_tombstoned(client, data_manager):
    held, withdrawn, tainted = torrent_of("held"), torrent_of("withdrawn"), torrent_of("tainted")
    assert client.get(f"/swarm/torrents/{'ab' * 20}.torrent").status_code == 404
    client.force_login(data_manager)  # even those who may see the held data: a torrent is public or absent
    assert client.get(f"/swarm/torrents/{held.infohash}.torrent").status_code == 404
    assert client.get(f"/swarm/torrents/{withdrawn.infohash}.torrent").status_code == 410
    assert client.get(f"/swarm/torrents/{tainted.infohash}.torrent").status_code == 410
    assert client.get(f"/swarm/torrents/{withdrawn.infohash.upper()}.torrent").status_code == 404  # one URL


# --- the catalog's tombstones ------------------------------------------------------------------------


def test_tombstones_keep_their_infohash_in_the_catalog():
    from apps.catalog.items import records_of_package, to_item

    live, withdrawn, tainted = torrent_of(), torrent_of("withdrawn"), torrent_of("tainted")
    for torrent in (live, withdrawn, tainted):
        (record,) = records_of_package(torrent.revision.package_id)
        item = to_item(record)
        assert item["properties"]["quayside:infohash"] == torrent.infohash
        if torrent is live:
            assert "torrent" in item["assets"]
        else:
            assert item["properties"]["quayside:status"] == torrent.revision.state
            assert "torrent" not in item["assets"] and item["properties"]["quayside:seeders"] == 0
