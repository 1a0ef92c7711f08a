"""Resumable uploads to the share page: the ``share=<basket token>`` target of apps.uploads (tus, the
drop zone). Registered in ``SharesConfig.ready``.

- At creation: the person may share (``access.roles.can_share``) and the token is the page's (32 hex).
- In the worker: the finished file is stored as a content-addressed blob (hashed once, here) and recorded
  in the basket; ``start_draft`` then takes the basket's files by reference.
"""

from __future__ import annotations

import re
from pathlib import Path

from apps.storage import services as storage
from apps.uploads import targets
from portal.errors import UserError

from . import services
from .models import Basket

KIND = "share"
TOKEN = re.compile(r"[0-9a-f]{32}")


def check(user, target_id: str, fields: dict) -> None:
    services.require_sharer(user)
    if not TOKEN.fullmatch(target_id):
        raise UserError("The share target must be the share page's basket token (32 hexadecimal digits).")


def place(upload, path: Path) -> str:
    blob = storage.store_file(path)
    path.unlink(missing_ok=True)
    name = Path(upload.filename or upload.relative_path or "file").name
    # The same name dropped again on the same page: the later file wins, as on a file chooser.
    Basket.objects.update_or_create(
        token=upload.target_id, user_id=upload.user_id, name=name, defaults={"blob": blob}
    )
    return f"share basket: {name} (blob {blob.sha256[:12]}…)"


def register() -> None:
    targets.register(KIND, check=check, place=place, label=lambda token: "the share page")
