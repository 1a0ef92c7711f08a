"""The tus 1.0.0 protocol's headers: what they say and how to read them (https://tus.io/protocols/resumable-upload).

Quayside speaks tus itself rather than through a library: ``django-tus`` does not import on Django ≥ 4,
and ``drf-tus`` 2.0.3 answers OPTIONS without ``Tus-Version``/``Tus-Extension``, copies the finished
file inside the last request (a 100 GB copy while the client waits), allows anonymous uploads by default
and depends on the archived ``django-fsm``; none of that is fixed by configuration. The protocol is a
handful of headers, parsed here; the views (``api/views.py``) and services apply them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from django.utils.http import http_date

from portal.errors import UserError

VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,checksum,termination,expiration"
CHECKSUM_ALGORITHMS = {"sha1": hashlib.sha1, "md5": hashlib.md5, "sha256": hashlib.sha256}
CONTENT_TYPE = "application/offset+octet-stream"
METHODS_OVERRIDDEN = {"PATCH", "DELETE", "HEAD"}
# Metadata keys a whole-file checksum may be declared under, hex digest (checked by the worker).
FILE_CHECKSUM_KEYS = ("sha256", "sha1", "md5")
HEX_LENGTHS = {"sha256": 64, "sha1": 40, "md5": 32}
_KEY = re.compile(r"^[!-+\--~]+$")  # printable ASCII, no space and no comma


def parse_metadata(header: str) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (the value may be missing).

    Values are decoded as UTF-8 text; a malformed header is a UserError (400) that says what is wrong."""
    found: dict[str, str] = {}
    for pair in (p.strip() for p in header.split(",")):
        if not pair:
            continue
        key, _, encoded = pair.partition(" ")
        encoded = encoded.strip()
        if not _KEY.match(key) or " " in encoded:
            raise UserError(f"Upload-Metadata: {pair[:60]!r} is not 'key base64value'.")
        if key in found:
            raise UserError(f"Upload-Metadata: the key {key!r} appears twice.")
        try:
            found[key] = base64.b64decode(encoded, validate=True).decode() if encoded else ""
        except (binascii.Error, ValueError) as exc:
            raise UserError(
                f"Upload-Metadata: the value of {key!r} is not base64-encoded UTF-8 text."
            ) from exc
    return found


def parse_checksum(header: str) -> tuple[str, bytes]:
    """``Upload-Checksum: <algorithm> <base64 digest>`` → (algorithm, digest bytes); 400 when unreadable
    or an algorithm we do not offer (the spec's answer to an unsupported algorithm)."""
    algorithm, _, encoded = header.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise UserError(
            f"Upload-Checksum: {algorithm!r} is not supported; use one of {', '.join(CHECKSUM_ALGORITHMS)}."
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UserError("Upload-Checksum: the digest is not base64.") from exc
    if len(digest) != CHECKSUM_ALGORITHMS[algorithm]().digest_size:
        raise UserError(
            f"Upload-Checksum: a {algorithm} digest has {CHECKSUM_ALGORITHMS[algorithm]().digest_size} bytes."
        )
    return algorithm, digest


def parse_length(value: str | None, header: str) -> int | None:
    """A non-negative integer header (Upload-Length, Upload-Offset), or None when absent."""
    if value is None:
        return None
    if not value.isdigit():
        raise UserError(f"{header} must be a non-negative integer, not {value[:30]!r}.")
    return int(value)


def file_checksum(metadata: dict[str, str]) -> tuple[str, str]:
    """The whole-file checksum declared in the metadata (``sha256``, ``sha1`` or ``md5``, hex), or ("", "")."""
    for algorithm in FILE_CHECKSUM_KEYS:
        value = metadata.get(algorithm, "").strip().lower()
        if value:
            if len(value) != HEX_LENGTHS[algorithm] or not re.fullmatch(r"[0-9a-f]+", value):
                raise UserError(f"Upload-Metadata: {algorithm} must be {HEX_LENGTHS[algorithm]} hex digits.")
            return algorithm, value
    return "", ""


def expires_header(when) -> str:
    """Upload-Expires is an RFC 9110 date (``Wed, 25 Jun 2025 09:00:00 GMT``)."""
    return http_date(when.timestamp())


class TusError(UserError):
    """A refusal with the status the tus protocol names for it; the message says what to do."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class ChecksumMismatch(TusError):
    """The bytes of a PATCH do not match its Upload-Checksum (answered 460, the bytes discarded)."""

    def __init__(self, message: str):
        super().__init__(message, 460)


def version_mismatch(got: str | None) -> TusError:
    said = f"Tus-Resumable {got!r} is not supported" if got else "Tus-Resumable is missing"
    return TusError(f"{said}: this server speaks tus {VERSION}.", 412)
