"""The node's configuration (quayside_node.config): TOML, then QUAYSIDE_NODE_* variables, then flags;
sizes with units; errors that name the key; re-registration when what the portal was told changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from quayside_node.cli import main
from quayside_node.config import ConfigError, load, parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("500 GB", 500 * 10**9),
        ("2 TiB", 2 * 2**40),
        ("1.5GiB", 3 * 2**29),
        ("123", 123),
        (4096, 4096),
        ("0", 0),
    ],
)
def test_sizes_take_decimal_and_binary_units(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["lots", "5 parsecs", "-3 GB", True])
def test_a_bad_size_names_the_key(bad):
    with pytest.raises(ConfigError, match="^budget:"):
        parse_size(bad, "budget")


def test_the_file_then_the_environment_then_flags(tmp_path):
    path = tmp_path / "node.toml"
    path.write_text(
        'portal = "https://data.example.org/"\ntoken = "qn_file"\nbudget = "500 GB"\n'
        'subjects = ["Oceanography"]\nupload_limit = "2 MB"\ndata = "/var/lib/qn"\n'
    )
    config = load(path, env={})
    assert config.portal == "https://data.example.org" and config.token == "qn_file"
    assert config.budget == 500 * 10**9 and config.upload_limit == 2 * 10**6
    assert config.subjects == ["Oceanography"] and config.data == Path("/var/lib/qn")
    assert config.listen == "" and config.download_limit == 0  # outbound only, no limit by default

    env = {"QUAYSIDE_NODE_TOKEN": "qn_env", "QUAYSIDE_NODE_SCOPES": "edi, knb-lter-ble", "OTHER": "x"}
    config = load(path, env=env, budget="1 TB", token=None)
    assert config.token == "qn_env" and config.scopes == ["edi", "knb-lter-ble"] and config.budget == 10**12
    assert load(path, env=env, token="qn_flag").token == "qn_flag"


def test_unknown_keys_and_missing_essentials_are_refused(tmp_path):
    path = tmp_path / "node.toml"
    path.write_text('portal = "https://x.org"\nbugdet = "5 GB"\n')
    with pytest.raises(ConfigError, match="unknown keys bugdet"):
        load(path, env={})
    with pytest.raises(ConfigError, match="^token:"):
        load(None, env={}, portal="https://x.org").check()
    with pytest.raises(ConfigError, match="^portal:"):
        load(None, env={"QUAYSIDE_NODE_TOKEN": "qn_x"}).check()
    assert main(["once", "--portal", "ftp://x"]) == 2  # the command line says what is wrong and exits


def test_the_fingerprint_changes_with_what_the_portal_was_told_not_with_local_settings():
    base = load(None, env={}, portal="https://x.org", token="qn_a", budget="1 GB")
    same = load(
        None,
        env={},
        portal="https://x.org",
        token="qn_a",
        budget="1 GB",
        data="/elsewhere",
        listen="0.0.0.0:6881",
    )
    assert base.fingerprint() == same.fingerprint()
    for change in ({"budget": "2 GB"}, {"token": "qn_b"}, {"subjects": "ice"}, {"upload_limit": "1 MB"}):
        other = load(None, env={}, **{"portal": "https://x.org", "token": "qn_a", "budget": "1 GB", **change})
        assert other.fingerprint() != base.fingerprint(), change
    assert "qn_a" not in str(base.registration())
