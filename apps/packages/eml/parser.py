"""A hardened XML parser for EML documents.

EML documents come from strangers, so the parser never expands entities, never loads a DTD, never
touches the network and refuses huge trees. A document with a DOCTYPE at all is refused: EML needs
none, and refusing it is the simplest complete answer to entity bombs and external entities.
"""

from __future__ import annotations

from lxml import etree

from portal.xml import safe_parser

MAX_EML_BYTES = 20 * 1024 * 1024  # the largest EML document we accept; EDI's biggest are a few MB


class EmlParseError(ValueError):
    """The bytes are not a well-formed, safe XML document. The message says what to fix."""


def parse_eml(data: bytes) -> etree._ElementTree:
    """Parse EML bytes with the hardened parser; raise EmlParseError with a readable reason."""
    if len(data) > MAX_EML_BYTES:
        raise EmlParseError(f"The EML document is {len(data):,} bytes; the limit is {MAX_EML_BYTES:,} bytes.")
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise EmlParseError(
            "The document contains a DOCTYPE or entity declaration. EML documents must not declare a DTD "
            "or entities (they are refused to prevent entity expansion and external entity attacks)."
        )
    try:
        tree = etree.ElementTree(etree.fromstring(data, safe_parser()))
    except etree.XMLSyntaxError as exc:
        raise EmlParseError(f"The document is not well-formed XML: {exc}") from exc
    if tree.docinfo.doctype:
        raise EmlParseError("The document declares a DOCTYPE; EML documents must not.")
    return tree
