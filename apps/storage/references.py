"""Who still needs a blob: the one answer to "may these bytes be deleted?".

Contract: ``references(blob)`` lists every live thing that points at the blob, as ``"label#pk"`` strings
(``["packages.Entity#12", "cruises.CruiseFile#3"]``); an empty list means nothing untainted needs the
bytes any more. It finds the referrers without importing any app:

- every model with a ForeignKey to ``storage.Blob`` is found through the Blob's reverse relations
  (Django's ``_meta.get_fields(include_hidden=True)``), so a new app's blob reference counts from the day it is added —
  a reference nobody told this module about keeps the bytes (the safe default);
- references by digest rather than by key (a delivery's inventory row whose deep copy uses the same
  content-addressed key) are registered with ``register_digest_field`` from that app's ``ready()``;
- an app that knows when one of its references is dead (an entity of a tainted version) registers a
  filter with ``register_dead``: rows matching it are not counted.
"""

from __future__ import annotations

from django.apps import apps as django_apps
from django.db.models import Q

from .models import Blob

_dead: dict[str, Q] = {}
_digest_fields: dict[str, str] = {}


def register_dead(label: str, dead: Q) -> None:
    """Rows of model ``label`` matching ``dead`` no longer keep a blob alive (e.g. a tainted version's)."""
    _dead[label] = dead


def register_digest_field(label: str, field: str) -> None:
    """Model ``label`` refers to blobs by a SHA-256 text field (not a ForeignKey)."""
    _digest_fields[label] = field


def _foreign_keys() -> list[tuple[type, str]]:
    # include_hidden: most references are ``related_name="+"``, which ``related_objects`` leaves out.
    return [
        (rel.related_model, rel.field.name)
        for rel in Blob._meta.get_fields(include_hidden=True)
        if rel.is_relation and rel.auto_created and not rel.concrete
    ]


def references(blob: Blob | str, *, limit: int = 5) -> list[str]:
    """Up to ``limit`` live referrers of the blob per model; empty when nothing untainted needs it."""
    sha256 = blob if isinstance(blob, str) else blob.sha256
    found: list[str] = []
    lookups = [(model, f"{name}_id") for model, name in _foreign_keys()]
    lookups += [(django_apps.get_model(label), field) for label, field in _digest_fields.items()]
    for model, field in lookups:
        label = model._meta.label
        rows = model._default_manager.filter(**{field: sha256})
        if label in _dead:
            rows = rows.exclude(_dead[label])
        found += [f"{label}#{pk}" for pk in rows.values_list("pk", flat=True)[:limit]]
    return found


def is_needed(blob: Blob | str) -> bool:
    return bool(references(blob, limit=1))
