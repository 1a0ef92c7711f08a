from __future__ import annotations

import pytest

from apps.accounts import demo as accounts_demo
from apps.shares import demo
from apps.shares.models import Share

pytestmark = pytest.mark.django_db


def test_the_demo_share_has_two_versions_with_one_changed_file_and_loads_once():
    accounts_demo.load(lambda _: None)
    demo.load(lambda _: None)
    demo.load(lambda _: None)  # idempotent
    share = Share.objects.get()
    v1, v2 = share.package.revisions.order_by("number")
    assert (v1.state, v2.state) == ("published", "published")
    first = {e.object_name: e.blob_id for e in v1.entities.all()}
    second = {e.object_name: e.blob_id for e in v2.entities.all()}
    assert first["README.txt"] == second["README.txt"]
    assert first["plankton_counts.csv"] != second["plankton_counts.csv"]
    assert share.edits.count() == 1
