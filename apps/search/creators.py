"""One creator facet value per person: "Grace Hopper", "Hopper, Grace" and "GRACE HOPPER" with an ORCID
are one person, listed once with one count.

``resolve(creator)`` finds (or records) the person's ``SearchCreator`` row while a revision is indexed:
by ORCID first, then by the normalised name. A name-only creator who is later indexed with an ORCID
keeps the same row (the ORCID is added to it), so the order datasets arrive in does not matter.
"""

from __future__ import annotations

import re
import unicodedata

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from .models import FACET_VALUE_LENGTH, SearchCreator

_ORCID_RE = re.compile(r"(\d{4}-\d{4}-\d{4}-\d{3}[\dX])", re.IGNORECASE)


def normalise_orcid(value) -> str:
    """``0000-0002-1825-0097`` from any of its spellings (with or without https://orcid.org/), or ""."""
    match = _ORCID_RE.search(str(value or ""))
    return match.group(1).upper() if match else ""


def _plain(text: str) -> str:
    """Without accents, case or punctuation, single-spaced: "Hóppér,  G." → "hopper g"."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w]+", " ", bare.casefold()).split())


def name_key(creator: dict) -> str:
    """The name as "given family", normalised (see ``_plain``); "" when the creator has no name."""
    given, family = creator.get("given") or "", creator.get("family") or ""
    if not family:
        name = creator.get("name") or ""
        # "Family, Given" is the bibliographic order; read it as "Given Family" so both spellings meet.
        family, comma, given = name.partition(",")
        if not comma:
            family, given = name, ""
    return _plain(f"{given} {family}")[:FACET_VALUE_LENGTH]


def label_of(creator: dict) -> str:
    if creator.get("family"):
        return f"{creator['family']}, {creator.get('given') or ''}".strip(", ")[:FACET_VALUE_LENGTH]
    return (creator.get("name") or "").strip()[:FACET_VALUE_LENGTH]


def _new(orcid: str, key_name: str, label: str) -> SearchCreator:
    base = (slugify(key_name) or "creator")[: FACET_VALUE_LENGTH - 8]
    for n in range(1, 1000):
        key = base if n == 1 else f"{base}-{n}"
        if SearchCreator.objects.filter(key=key).exists():
            continue
        try:
            with transaction.atomic():  # a concurrent indexer may take the key between the test and here
                return SearchCreator.objects.create(key=key, orcid=orcid, name_key=key_name, label=label)
        except IntegrityError:
            continue
    raise RuntimeError(f"no free creator key for {key_name!r}")


def resolve(creator: dict) -> SearchCreator | None:
    """The person's facet row (created if new); None for a creator with no name."""
    key_name = name_key(creator)
    if not key_name:
        return None
    orcid = normalise_orcid(creator.get("orcid"))
    if orcid:
        row = SearchCreator.objects.filter(orcid=orcid).first()
        if row:
            return row
        # The same name seen before without an ORCID: the same person, now identified.
        row = SearchCreator.objects.filter(name_key=key_name, orcid="").first()
        if row:
            SearchCreator.objects.filter(pk=row.pk, orcid="").update(orcid=orcid)
            return row
        return _new(orcid, key_name, label_of(creator))
    # No ORCID: the first person of that name (with or without one).
    row = SearchCreator.objects.filter(name_key=key_name).first()
    return row or _new("", key_name, label_of(creator))


def key_for_filter(value: str) -> str:
    """The facet key a ``creator=`` filter means: a key as the facet links carry it, or a plain name
    ("Grace Hopper", "Hopper, Grace") as people and older API clients type it."""
    if SearchCreator.objects.filter(key=value).exists():
        return value
    row = SearchCreator.objects.filter(name_key=name_key({"name": value})).first()
    return row.key if row else value


def labels(keys) -> dict[str, str]:
    return dict(SearchCreator.objects.filter(key__in=list(keys)).values_list("key", "label"))
