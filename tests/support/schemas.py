"""Where the official XSDs (../shared/schemas beside the checkout) are found by the tests."""

from __future__ import annotations

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]


def _find() -> Path:
    candidates = [
        os.environ.get("QUAYSIDE_SHARED_SCHEMAS", ""),
        _REPO.parent / "shared" / "schemas",
        "/work/shared/schemas",
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "oai-pmh-2.0").is_dir():
            return Path(candidate)
    raise FileNotFoundError(
        "The official XSDs were not found beside the checkout (../shared/schemas); set QUAYSIDE_SHARED_SCHEMAS."
    )


SCHEMAS = _find()
