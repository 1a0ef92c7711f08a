"""Rebuilding an artifact from its manifest and comparing the bytes (``manage.py rebuild --verify``, the
spot-check beat job).

The verdict says *identical* or *different*, and where they first differ: the first differing byte offset,
for Parquet (alternates and the catalog) the first row group and column whose values differ (or that the
values are equal and only the encoding or metadata differs), for text (navigation products) the first
differing line, plus any input whose stored bytes no longer match the manifest.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from apps.storage import services as storage

from .manifests import BUILDERS, read_manifest
from .models import Artifact


@dataclass
class Verdict:
    artifact: Artifact
    identical: bool
    expected_sha256: str
    rebuilt_sha256: str = ""
    differences: list[str] = field(default_factory=list)

    def summary(self) -> str:
        owner = self.artifact.revision or self.artifact.cruise or ""
        head = f"{owner}:{self.artifact.path}".lstrip(":")
        if self.identical:
            return f"identical: {head} (sha256 {self.expected_sha256})"
        return f"different: {head}\n  " + "\n  ".join(self.differences)


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def first_differing_byte(a, b, chunk: int = 1 << 20) -> int | None:
    """Offset of the first byte where two binary streams differ (a length difference counts); None if equal."""
    offset = 0
    while True:
        x, y = a.read(chunk), b.read(chunk)
        if x != y:
            n = min(len(x), len(y))
            i = next((i for i in range(n) if x[i] != y[i]), n)
            return offset + i
        if not x:
            return None
        offset += len(x)


def parquet_difference(expected: Path, rebuilt: Path) -> str:
    """Where two Parquet files first differ, in words (schema, row groups, a column of a row group)."""
    import pyarrow.parquet as pq

    try:
        a, b = pq.ParquetFile(expected), pq.ParquetFile(rebuilt)
    except Exception as exc:  # the rebuilt file may be empty (the conversion was refused)
        return f"the rebuilt file cannot be read as Parquet ({exc})"
    if not a.schema_arrow.equals(b.schema_arrow, check_metadata=False):
        return f"schemas differ: {a.schema_arrow} vs {b.schema_arrow}"
    if a.schema_arrow.metadata != b.schema_arrow.metadata:
        return "file metadata differs (the source or converter recorded in it)"
    if a.metadata.num_row_groups != b.metadata.num_row_groups:
        return f"{a.metadata.num_row_groups} row groups vs {b.metadata.num_row_groups}"
    for rg in range(a.metadata.num_row_groups):
        for col in a.schema_arrow.names:
            x = a.read_row_group(rg, columns=[col]).column(0)
            y = b.read_row_group(rg, columns=[col]).column(0)
            if not x.equals(y):
                rows = min(len(x), len(y))
                row = next((i for i in range(rows) if x[i] != y[i]), rows)
                return f"first differing values: row group {rg}, column {col!r}, row {row} of the group"
    return "the values are equal; the encoding or metadata differs"


def text_difference(stored, rebuilt, offset: int, context: int = 60) -> str:
    """Where two text streams first differ, given the first differing byte ``offset``: its line and
    column, and the text around it in each (at most ``context`` bytes either side, within the line).
    Streams: a GeoJSON product is one line of many megabytes, so no line is read whole."""
    line, line_start, pos, before = 1, 0, 0, b""
    while pos < offset:
        block = stored.read(min(1 << 20, offset - pos))
        if not block:
            break
        rebuilt.read(len(block))  # the same bytes up to the offset
        if (newlines := block.count(b"\n")) > 0:
            line += newlines
            line_start = pos + block.rfind(b"\n") + 1
        before = (before + block)[-context:]
        pos += len(block)
    before = before.rsplit(b"\n", 1)[-1]

    def shown(after: bytes) -> str:
        text = (before + after.split(b"\n", 1)[0]).decode("utf-8", "replace")
        return ("…" if offset - line_start > len(before) else "") + repr(text)

    return (
        f"first differing line {line:,}, column {offset - line_start + 1:,}: "
        f"stored {shown(stored.read(context))}, rebuilt {shown(rebuilt.read(context))}"
    )


PARQUET_MEDIA_TYPES = ("application/vnd.apache.parquet",)
TEXT_MEDIA_TYPES = ("text/csv", "application/geo+json", "application/json")


def verify(artifact: Artifact) -> Verdict:
    """Rebuild ``artifact`` from its manifest and compare it with the stored one. Given a manifest, the
    artifact it describes is rebuilt (a manifest is the recipe, not a product)."""
    if artifact.kind == Artifact.Kind.MANIFEST:
        described = artifact.described.select_related(
            "blob", "manifest__blob", "revision__package", "cruise"
        ).first()
        if described is None:
            raise LookupError(f"{artifact} describes no artifact")
        artifact = described
    manifest = read_manifest(artifact)
    builder = BUILDERS.get(manifest["kind"])
    if builder is None:
        raise LookupError(f"no builder for artifacts of kind {manifest['kind']!r}")
    verdict = Verdict(artifact=artifact, identical=False, expected_sha256=artifact.blob.sha256)
    if manifest["artifact"]["sha256"] != artifact.blob.sha256:
        verdict.differences.append(
            f"the manifest names output {manifest['artifact']['sha256']}, the artifact is {artifact.blob.sha256}"
        )
    Path(settings.SCRATCH_DIR).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rebuild-", dir=settings.SCRATCH_DIR) as tmp:
        rebuilt, notes = builder(manifest, Path(tmp))
        verdict.differences += notes
        verdict.rebuilt_sha256 = _sha256(rebuilt)
        if verdict.rebuilt_sha256 == artifact.blob.sha256 and not verdict.differences:
            verdict.identical = True
            return verdict
        with storage.open_blob(artifact.blob) as stored, open(rebuilt, "rb") as new:
            offset = first_differing_byte(stored, new)
        if offset is not None:
            verdict.differences.append(
                f"output sha256 {verdict.rebuilt_sha256} ≠ {artifact.blob.sha256}; "
                f"first differing byte at offset {offset:,}"
            )
            if artifact.media_type in PARQUET_MEDIA_TYPES:
                expected = Path(tmp) / "expected.parquet"
                with storage.open_blob(artifact.blob) as src, open(expected, "wb") as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
                verdict.differences.append(parquet_difference(expected, rebuilt))
            elif artifact.media_type in TEXT_MEDIA_TYPES:
                with storage.open_blob(artifact.blob) as stored, open(rebuilt, "rb") as new:
                    verdict.differences.append(text_difference(stored, new, offset))
    return verdict


def find_artifact(ref: str) -> Artifact:
    """An artifact by id, by the SHA-256 of its bytes, by ``scope.id.rev/path``, by
    ``navigation/<cruise pk>/<path>`` (a cruise's navigation product, as its URL under /navigation/), or
    by its path alone when only one artifact has it (``stac.parquet``: the catalog). Raises
    Artifact.DoesNotExist or MultipleObjectsReturned."""
    ref = ref.strip()
    qs = Artifact.objects.select_related("blob", "manifest__blob", "revision__package", "cruise")
    if ref.isdigit():
        return qs.get(pk=int(ref))
    if len(ref) == 64 and all(c in "0123456789abcdef" for c in ref.lower()):
        # The same bytes may be an artifact of several versions (an unchanged table): any one will do.
        found = qs.filter(blob_id=ref.lower()).order_by("pk").first()
        if found is None:
            raise Artifact.DoesNotExist(f"no artifact has the SHA-256 {ref}")
        return found
    head, _, path = ref.partition("/")
    cruise, _, cruise_path = path.partition("/")
    if head == "navigation" and cruise.isdigit() and cruise_path:
        return qs.get(revision=None, cruise_id=int(cruise), path=cruise_path)
    parts = head.rsplit(".", 2)
    if path and len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return qs.get(
            revision__package__scope=parts[0],
            revision__package__identifier=int(parts[1]),
            revision__number=int(parts[2]),
            path=path,
        )
    return qs.get(path=ref)
