"""A real smart node (quayside_node) against a live portal: it registers, reads the catalog and health by
Range, takes the at-risk versions first within its budget (the last one by pieces), downloads them from
the portal's web seeds, seeds them to another libtorrent client (web seed removed), reports its holdings,
keeps its plan when its own copies raise the count, and deletes a tainted version — through the catalog on
its next cycle, or at once through the report's drop list."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from quayside_node.config import Config
from quayside_node.node import Node

from apps.catalog import services as catalog
from apps.nodes import health, services
from apps.nodes.models import NodeHolding
from apps.publishing import services as publishing
from apps.swarm import services as swarm
from apps.swarm.models import SwarmHealth
from tests.swarm.conftest import (
    assert_same_files,
    build,
    download,
    make_version,
    torrent_bytes,
    without_web_seeds,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def publish(count: int):
    """``count`` published versions with built torrents (web seed: SITE_BASE_URL, the live server)."""
    return [build(make_version()) for _ in range(count)]


def refresh_portal() -> None:
    """What the beat jobs do: rebuild the catalog and the health file."""
    catalog.refresh(force=True)
    health.write_health()


def held_by(node_row) -> dict[str, tuple[int, int, bool]]:
    return {
        h.torrent.infohash: (h.pieces_held, h.pieces_total, h.complete)
        for h in NodeHolding.objects.filter(node=node_row).select_related("torrent")
    }


def test_a_node_fills_its_budget_with_the_versions_at_risk_seeds_them_and_deletes_a_tainted_one(
    live_server, settings, tmp_path, node_operator
):
    settings.SITE_BASE_URL = live_server.url
    at_risk = publish(3)  # the portal's copy only: 1 healthy copy each
    safe = build(make_version())
    swarm.record_health(safe.pk, SwarmHealth.Source.SESSION, seeds=4, peers=0, completed=4, uploaded=0)
    refresh_portal()
    size, piece = at_risk[0].total_size, at_risk[0].piece_size
    assert all(t.total_size == size for t in [*at_risk, safe]) and size > 3 * piece

    node_row, key = services.issue_node(node_operator, "lab rack")
    config = Config(
        portal=live_server.url,
        token=key,
        budget=2 * size + 2 * piece,  # two whole versions and two pieces of a third
        data=tmp_path / "node",
        listen="127.0.0.1:0",  # so that the client below can reach it (outbound-only is the default)
        dht=False,
        name="lab rack",
    )
    node = Node(config)
    try:
        result = node.cycle(wait=30)
        # Equal copies and sizes: the infohash decides; the safe version (4 copies) is never taken.
        first, second, third = sorted(t.infohash for t in at_risk)
        assert result.plan.whole == [first, second]
        assert result.plan.partial == (third, 2)
        assert result.error == "" and result.deleted == {}
        assert 0 < result.bytes_fetched < (settings.CATALOG_DIR / "stac.parquet").stat().st_size + 20_000
        pieces = -(-size // piece)
        assert held_by(node_row) == {
            first: (pieces, pieces, True),
            second: (pieces, pieces, True),
            third: (2, pieces, False),
        }
        node_row.refresh_from_db()
        assert node_row.name == "lab rack" and node_row.budget_bytes == config.budget
        assert node_row.last_seen_at is not None and node_row.bytes_held == 2 * size + 2 * piece

        # Another client completes a whole version from the node alone (no web seed).
        data = torrent_bytes(next(t for t in at_risk if t.infohash == first))
        download(without_web_seeds(data), tmp_path / "client", peer=("127.0.0.1", node.session.port))
        name = next(t for t in at_risk if t.infohash == first).revision.package.identifier
        assert_same_files(tmp_path / "client", f"edi.{name}.1")

        # The command line prints the same plan (another data folder, the token from the environment).
        cli = subprocess.run(
            [str(Path(sys.executable).parent / "quayside-node"), "rank", "--portal", live_server.url,
             "--budget", str(config.budget), "--data", str(tmp_path / "cli"), "--name", "lab rack"],
            env={**os.environ, "QUAYSIDE_NODE_TOKEN": key}, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert cli.returncode == 0, cli.stderr
        lines = [line for line in cli.stdout.splitlines() if line.strip()[:1].isdigit()]
        assert [re.search(r"\b[0-9a-f]{40}\b", line).group() for line in lines] == [first, second, third]
        assert f"2/{pieces} pieces" in lines[2] and "whole" in lines[0]

        # The node's own copies now count in health (2 copies): it keeps its plan, nothing is re-fetched.
        refresh_portal()
        again = node.cycle()
        assert again.plan.whole == [first, second] and again.plan.partial == (third, 2)
        assert again.deleted == {} and again.added == []

        # Tainted, then the beat jobs ran: the catalog's tombstone makes the node delete it next cycle.
        revision = next(t for t in at_risk if t.infohash == first).revision
        publishing.taint(revision, reason="personal data in a file")
        refresh_portal()
        after = node.cycle(wait=30)
        assert after.deleted.get(first) == "not public"
        assert not (tmp_path / "node" / "data" / first).exists()
        assert first not in held_by(node_row)
        # The freed budget goes to the next at risk: the third version is now held whole.
        assert after.plan.whole == [second, third]
        assert held_by(node_row)[third] == (pieces, pieces, True)

        # Tainted before the beat jobs ran (catalog and health still list it): the report's drop list
        # makes the node delete it at once, in the same cycle.
        revision = next(t for t in at_risk if t.infohash == second).revision
        publishing.taint(revision, reason="personal data in a file")
        last = node.cycle()
        assert last.deleted.get(second) == "dropped by the portal"
        assert last.report["drop"] == [second]
        assert not (tmp_path / "node" / "data" / second).exists()
    finally:
        node.close()

    # `quayside-node run` (outbound only, the default): it cycles, saves resume data every cycle, and on
    # SIGTERM saves it again and exits 0.
    folder = tmp_path / "run"
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "quayside-node"), "run", "--portal", live_server.url,
         "--budget", str(size), "--data", str(folder), "--poll-seconds", "1"],
        env={**os.environ, "QUAYSIDE_NODE_TOKEN": key}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not list((folder / "resume").glob("*.resume")) or len(held_by(node_row)) != 1:
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "quayside-node run neither held nor reported a version"
            time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert list(held_by(node_row)) == [third]  # the one at-risk version left that fits its budget
