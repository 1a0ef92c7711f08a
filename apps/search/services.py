"""The search index (owned by the publishing work, issue 4).

Contract other apps rely on: ``index_revision(revision)`` (re)indexes a revision's title, abstract,
keywords, creators and coverage; called by the ingest pipeline after archiving and whenever a
revision's public metadata or state changes. Idempotent.
"""

from __future__ import annotations


def index_revision(revision) -> None:
    return None
