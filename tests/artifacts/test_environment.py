"""The environment definition: the lock pins every dependency of pyproject.toml, with hashes, and the image
installs exactly it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _name(requirement: str) -> tuple[str, str]:
    name, version = re.split(r"\s*==\s*", requirement.split(";")[0].strip(), maxsplit=1)
    return re.sub(r"[-_.]+", "-", name.split("[")[0]).lower(), version.strip()


def test_the_lock_pins_every_dependency_at_its_pyproject_version_with_hashes():
    pins = dict(
        _name(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    )
    text = (ROOT / "deploy" / "requirements.lock").read_text()
    entries = re.findall(
        r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\\n((?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", text, re.M
    )
    locked = {re.sub(r"[-_.]+", "-", n).lower(): v for n, v, _ in entries}
    assert len(entries) == len(re.findall(r"^[A-Za-z0-9][^ #\n]*==", text, re.M))  # every entry has hashes
    assert {n: locked.get(n) for n in pins} == pins
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "pip install --require-hashes --no-deps -r deploy/requirements.lock" in dockerfile
