"""The one hardened lxml parser: every XML document Quayside reads (EML, sailing orders, stylesheets)."""

from lxml import etree


def safe_parser(**options) -> etree.XMLParser:
    """No entity expansion, no DTD loading or validation, no network, no huge trees: safe against XXE and
    entity bombs. ``options`` add ordinary lxml parser options (e.g. ``remove_comments=True``)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        **options,
    )
