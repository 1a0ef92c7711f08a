"""Every environment variable portal/settings.py reads is documented: the table in docs/configuration.md and
deploy/env.example. A variable added to settings without documentation fails here, by name."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CALL = re.compile(r"""\benv(?:bool|int|list)?\(\s*(f?)["']([A-Z0-9_{}a-z]+)["']""")


def variables_read_in_settings() -> set[str]:
    names = set()
    for is_f, name in CALL.findall((ROOT / "portal/settings.py").read_text()):
        if is_f and "{prefix}" in name:  # _storage(): the primary tier reads S3_*, the deep tier DEEP_S3_*
            names |= {name.replace("{prefix}", ""), name.replace("{prefix}", "DEEP_")}
        else:
            names.add(name)
    return names


def test_the_scan_finds_the_variables():
    found = variables_read_in_settings()
    assert {"DATABASE_URL", "SECRET_KEY", "S3_BUCKET", "DEEP_S3_BUCKET", "MAX_UPLOAD_SIZE"} <= found


def test_every_variable_is_in_the_configuration_table():
    page = (ROOT / "docs/configuration.md").read_text()
    table = "\n".join(line for line in page.splitlines() if line.startswith("| `"))
    missing = sorted(name for name in variables_read_in_settings() if f"`{name}`" not in table)
    assert not missing, f"document these in docs/configuration.md's table: {missing}"


def test_every_variable_is_in_env_example():
    example = (ROOT / "deploy/env.example").read_text()
    missing = sorted(n for n in variables_read_in_settings() if not re.search(rf"^#? ?{n}=", example, re.M))
    assert not missing, f"add these to deploy/env.example: {missing}"


def test_env_example_values_carry_no_comments():
    """systemd's EnvironmentFile reads ``PRODUCTION=true  # note`` as the value "true  # note"."""
    example = (ROOT / "deploy/env.example").read_text()
    commented = [line for line in example.splitlines() if re.match(r"^[A-Z][A-Z0-9_]*=.*\s#", line)]
    assert not commented, f"move these comments to a line of their own: {commented}"
