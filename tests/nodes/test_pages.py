"""The pages: /nodes/ (public: nodes, the healthy-copies plot, the at-risk list) and /nodes/mine/ (node
operators issue and revoke tokens; data managers revoke any), and the demo's node."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.nodes import health, plot, services
from apps.nodes.models import Node
from apps.swarm.models import SwarmHealth
from tests.conftest import make_user

from .conftest import holding, torrent_of

pytestmark = pytest.mark.django_db

BAR = re.compile(r'<rect [^>]*class="bar( at-risk)?"><title>([^<]*)</title>')


def bars(html: str) -> list[tuple[bool, str]]:
    return [(bool(risk), label) for risk, label in BAR.findall(html)]


def seen_node(operator, name: str = "rack", *, torrents=(), partial=()) -> Node:
    """A node that has just reported ``torrents`` whole and ``partial`` in part."""
    node, _ = services.issue_node(operator, name)
    holdings = [holding(t) for t in torrents] + [holding(t, held=1) for t in partial]
    services.report(node, {"holdings": holdings})
    return node


def test_the_page_says_when_health_is_not_written_yet(client):
    response = client.get("/nodes/")
    assert response.status_code == 200 and "being computed" in response.content.decode()
    assert "<svg" not in response.content.decode()


def test_the_plot_shows_copies_per_version_with_the_at_risk_ones_highlighted(client, node_operator, settings):
    settings.NODES_AT_RISK_COPIES = 3
    lonely, safe, mirrored = torrent_of(), torrent_of(), torrent_of()
    SwarmHealth.objects.create(torrent=safe, source="session", seeds=4)
    seen_node(node_operator, "a", torrents=[mirrored])
    health.write_health()
    html = client.get("/nodes/").content.decode()
    drawn = bars(html)
    # fewest first: lonely (1 copy), mirrored (1 + 1 node = 2), safe (4 seeds)
    assert drawn == [
        (True, f"{lonely.revision.package_id_text}: 1 copy"),
        (True, f"{mirrored.revision.package_id_text}: 2 copies"),
        (False, f"{safe.revision.package_id_text}: 4 copies"),
    ]
    assert 'class="threshold"' in html and "at risk below 3" in html
    assert 'role="img"' in html and "3 versions; 2 at risk" in html
    # The list below: fewest first, at-risk rows marked, linked to their landing pages.
    table = html[html.index('id="at-risk-list"') :]
    order = [table.index(t.revision.package_id_text) for t in (lonely, mirrored, safe)]
    assert order == sorted(order)
    assert table.count('<tr class="at-risk">') == 2
    assert f'href="/dataset/edi/{lonely.revision.package.identifier}/1/"' in table


def test_many_versions_are_binned_never_looking_healthier_than_they_are(client, monkeypatch, settings):
    settings.NODES_AT_RISK_COPIES = 2
    monkeypatch.setattr(plot, "MAX_BARS", 4)
    torrents = [torrent_of() for _ in range(10)]
    for t in torrents[5:]:
        SwarmHealth.objects.create(torrent=t, source="session", seeds=3)
    health.write_health()
    drawn = bars(client.get("/nodes/").content.decode())
    # 10 versions in 4 bars of consecutive versions (2, 3, 2, 3); each as high as its fewest copies
    assert [label for _, label in drawn] == [
        "versions 1–2: 1 copies",
        "versions 3–5: 1 copies",
        "versions 6–7: 3 copies",
        "versions 8–10: 3 copies",
    ]
    assert [risk for risk, _ in drawn] == [True, True, False, False]


def test_the_at_risk_list_is_paginated_fewest_first(client):
    torrents = [torrent_of() for _ in range(30)]
    for i, t in enumerate(torrents):
        SwarmHealth.objects.create(torrent=t, source="session", seeds=30 - i)
    health.write_health()
    first = client.get("/nodes/").content.decode()
    rows = re.findall(r"<tr( class=\"at-risk\")?>\s*<td><a href=\"/dataset/edi/(\d+)/1/\"", first)
    assert len(rows) == 25
    assert [int(r[1]) for r in rows] == [t.revision.package.identifier for t in reversed(torrents)][:25]
    second = client.get("/nodes/?page=2").content.decode()
    assert len(re.findall(r'<td><a href="/dataset/edi/\d+/1/"', second)) == 5
    assert "Page 2 of 2" in second


def test_the_page_takes_a_few_queries_however_many_nodes_and_versions(
    client, node_operator, django_assert_max_num_queries
):
    torrents = [torrent_of() for _ in range(40)]
    for i in range(12):
        seen_node(node_operator, f"node {i}", torrents=torrents[i : i + 5], partial=torrents[20:22])
    health.write_health()
    with django_assert_max_num_queries(4):
        response = client.get("/nodes/")
    assert response.status_code == 200
    client.force_login(node_operator)
    with django_assert_max_num_queries(9):
        assert client.get("/nodes/").status_code == 200
    with django_assert_max_num_queries(9):
        assert client.get("/nodes/mine/").status_code == 200


def test_the_nodes_table_lists_active_nodes_with_their_operator(client, node_operator):
    node_operator.name = "Noor Haddad"
    node_operator.save(update_fields=["name"])
    t = torrent_of()
    seen_node(node_operator, "Lab rack", torrents=[t])
    gone = seen_node(node_operator, "Old laptop")
    services.revoke_node(node_operator, gone.pk)
    html = client.get("/nodes/").content.decode()
    table = html[html.index('id="nodes"') :]
    assert "Lab rack" in table and "Noor Haddad" in table and "Old laptop" not in table
    assert '<td class="num">1</td></tr>' in table  # torrents held
    assert "1 active node" in html


def test_the_navigation_links_the_nodes_page(client):
    assert 'href="/nodes/"' in client.get("/").content.decode()


# --- /nodes/mine/ ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"), [("plain", 403), ("vetted", 403), ("data_manager", 200), ("node_operator", 200)]
)
def test_mine_is_for_node_operators_and_data_managers(client, role_user, role, status):
    client.force_login(role_user(role))
    assert client.get("/nodes/mine/").status_code == status


def test_mine_sends_anonymous_people_to_sign_in(client):
    response = client.get("/nodes/mine/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_operator_issues_a_token_shown_once(client, node_operator):
    client.force_login(node_operator)
    response = client.post("/nodes/mine/", {"name": "Lab rack"})
    assert response.status_code == 302
    node = Node.objects.get(operator=node_operator)
    page = client.get("/nodes/mine/").content.decode()
    key = re.search(r'id="new-node-token">(qn_[^<]+)<', page).group(1)
    assert Node.lookup(key) == node and node.name == "Lab rack"
    assert key not in client.get("/nodes/mine/").content.decode()  # once
    assert AuditEvent.objects.filter(service_method="issue_node_token", user_id=node_operator.pk).exists()


def test_an_operator_sees_and_revokes_only_their_own_nodes(client, node_operator):
    other = make_user("other-node@example.org", "node_operator")
    mine, _ = services.issue_node(node_operator, "Mine")
    theirs, _ = services.issue_node(other, "Theirs")
    client.force_login(node_operator)
    page = client.get("/nodes/mine/").content.decode()
    assert "Mine" in page and "Theirs" not in page
    assert client.post(f"/nodes/{theirs.pk}/revoke").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert client.post(f"/nodes/{mine.pk}/revoke").status_code == 302
    mine.refresh_from_db()
    assert mine.revoked_at is not None
    assert f'action="/nodes/{mine.pk}/revoke"' not in client.get("/nodes/mine/").content.decode()


def test_a_data_manager_revokes_any_node_but_issues_none(client, data_manager, node_operator):
    node, _ = services.issue_node(node_operator, "Rack")
    client.force_login(data_manager)
    page = client.get("/nodes/mine/").content.decode()
    assert "Rack" in page and f'action="/nodes/{node.pk}/revoke"' in page
    assert "Create a node token" not in page
    assert client.post("/nodes/mine/", {"name": "x"}).status_code == 403
    assert client.post(f"/nodes/{node.pk}/revoke").status_code == 302
    node.refresh_from_db()
    assert node.revoked_at is not None
    event = AuditEvent.objects.get(service_method="revoke_node_token")
    assert event.user_id == data_manager.pk and event.resource_id == f"node/{node.pk}"


def test_an_operator_who_lost_the_role_cannot_issue_or_revoke(client, node_operator):
    node, _ = services.issue_node(node_operator, "Rack")
    node_operator.groups.clear()
    client.force_login(node_operator)
    assert client.post("/nodes/mine/", {"name": "again"}).status_code == 403
    assert client.post(f"/nodes/{node.pk}/revoke").status_code == 404


def test_revoking_takes_post_only(client, node_operator):
    node, _ = services.issue_node(node_operator, "Rack")
    client.force_login(node_operator)
    assert client.get(f"/nodes/{node.pk}/revoke").status_code == 405


# --- demo --------------------------------------------------------------------------------------------


def test_the_demo_node_operator_has_a_node_with_holdings(client, settings):
    from apps.accounts import demo as accounts_demo
    from apps.nodes import demo as nodes_demo
    from apps.publishing import demo as publishing_demo
    from apps.swarm import demo as swarm_demo

    settings.DATACITE_API_URL = ""
    lines = []
    accounts_demo.load(lines.append)
    publishing_demo.load(lines.append)
    swarm_demo.load(lines.append)
    for _ in range(2):  # idempotent
        nodes_demo.load(lines.append)
    node = Node.objects.get()
    assert node.operator.email == "node@quayside.example" and node.registered_at is not None
    assert node.holdings.filter(complete=True).exists() and node.bytes_held > 0
    html = client.get("/nodes/").content.decode()
    assert "Noor&#x27;s lab rack" in html and bars(html)
    assert node.last_seen_at > timezone.now() - datetime.timedelta(minutes=5)


def test_the_admin_lists_nodes_and_revokes_through_the_service(client, data_manager, node_operator):
    node, _ = services.issue_node(node_operator, "Rack")
    client.force_login(data_manager)
    page = client.get("/admin/nodes/node/")
    assert page.status_code == 200 and "Rack" in page.content.decode()
    assert node.key_hash not in client.get(f"/admin/nodes/node/{node.pk}/change/").content.decode()
    client.post("/admin/nodes/node/", {"action": "revoke_tokens", "_selected_action": [node.pk]})
    node.refresh_from_db()
    assert node.revoked_at is not None
    assert AuditEvent.objects.filter(service_method="revoke_node_token", user_id=data_manager.pk).exists()
    assert client.get("/admin/nodes/nodeholding/").status_code == 200
