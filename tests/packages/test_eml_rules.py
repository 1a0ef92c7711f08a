"""EML validation: the official XSDs plus EML's own rules — each rule with a document that must pass and
one that must fail. Documents are real EML 2.2.0 built from real tables."""

from __future__ import annotations

import pytest

from apps.packages.eml import validate_eml
from apps.packages.eml.build import Column, Table
from tests.packages.helpers import eml_for, two_tables

ANNOTATION = (
    '<annotation><propertyURI label="contains measurements of type">'
    "http://ecoinformatics.org/oboe/oboe.1.2/oboe-core.owl#containsMeasurementsOfType</propertyURI>"
    '<valueURI label="station">http://purl.dataone.org/odo/ECSO_00002393</valueURI></annotation>'
)
UNIT_LIST = (
    '<additionalMetadata><metadata><stmml:unitList><stmml:unit id="partsPerThousand" name="partsPerThousand" '
    'unitType="dimensionless" parentSI="dimensionless" multiplierToSI="0.001">'
    "<stmml:description>parts per thousand</stmml:description></stmml:unit></stmml:unitList></metadata>"
    "</additionalMetadata>"
)


@pytest.fixture
def doc(tmp_path):
    tables = two_tables(tmp_path, "https://data.example.org/pkg")

    def build(**kwargs) -> bytes:
        return eml_for("edi.1.1", tables, **kwargs)

    build.tables = tables
    return build


def rules(data: bytes) -> list[str]:
    return [f.rule for f in validate_eml(data).findings]


def test_a_complete_document_is_valid(doc):
    result = validate_eml(doc())
    assert result.valid, result.reasons
    assert result.version == "2.2.0"


def test_a_schema_error_is_reported_with_its_line(doc):
    bad = doc().replace(b"<pubDate>", b"<bogus/><pubDate>")
    result = validate_eml(bad)
    assert [f.rule for f in result.findings] == ["schema"]
    assert "bogus" in result.findings[0].message and result.findings[0].line


def test_ids_must_be_unique(doc):
    assert rules(doc()) == []
    assert rules(doc().replace(b'id="observations"', b'id="stations"')) == ["duplicate-id"]


def test_references_must_point_at_an_existing_id(doc):
    assert rules(doc().replace(b"<references>creator-1", b"<references>nobody")) == ["dangling-reference"]


def test_an_element_with_references_carries_no_id(doc):
    assert rules(doc().replace(b"<contact>", b'<contact id="contact-1">')) == ["id-with-references"]


def test_an_annotation_needs_a_subject(doc):
    first = b"<attribute><attributeName>station</attributeName>"
    with_annotation = doc().replace(b"</attribute>", ANNOTATION.encode() + b"</attribute>", 1)
    assert rules(with_annotation) == ["annotation-subject"]
    assert (
        rules(
            with_annotation.replace(first, first.replace(b"<attribute>", b'<attribute id="att-station">'), 1)
        )
        == []
    )


def test_top_level_annotations_must_reference_an_existing_id(doc):
    ok = f'<annotations><annotation references="stations">{ANNOTATION[12:-13]}</annotation></annotations>'
    assert rules(doc(extra_root=ok)) == []
    assert rules(doc(extra_root=ok.replace('"stations"', '"nothing"'))) == ["annotation-subject"]


def test_an_annotation_in_additional_metadata_takes_its_subject_from_describes(doc):
    # emlvp demands an id on <metadata> here; the specification says the subject is what <describes> names.
    ok = f"<additionalMetadata><describes>stations</describes><metadata>{ANNOTATION}</metadata></additionalMetadata>"
    assert rules(doc(extra_root=ok)) == []
    assert rules(doc(extra_root=ok.replace("<describes>stations</describes>", ""))) == ["annotation-subject"]


def test_describes_must_point_at_an_existing_id(doc):
    am = "<additionalMetadata><describes>{}</describes><metadata><note>x</note></metadata></additionalMetadata>"
    assert rules(doc(extra_root=am.format("observations"))) == []
    assert rules(doc(extra_root=am.format("nothing"))) == ["dangling-describes"]


def test_custom_units_must_be_defined_in_a_unit_list(tmp_path):
    table = Table(
        "t",
        "salinity",
        [Column("salinity", "real", unit="custom:partsPerThousand")],
        url="https://x.org/t.csv",
    )
    bare = eml_for("edi.1.1", [table])
    assert rules(bare) == ["undefined-unit"]
    assert rules(eml_for("edi.1.1", [table], extra_root=UNIT_LIST)) == []


def test_the_package_id_is_an_id_an_annotation_may_describe(doc):
    # EMLValidator adds every packageId to the ids that references, describes and annotations may name.
    ok = f'<annotations><annotation references="edi.1.1">{ANNOTATION[12:-13]}</annotation></annotations>'
    assert rules(doc(extra_root=ok)) == []
    am = f"<additionalMetadata><describes>edi.1.1</describes><metadata>{ANNOTATION}</metadata></additionalMetadata>"
    assert rules(doc(extra_root=am)) == []


def test_the_package_id_and_unit_ids_count_as_ids_for_uniqueness(doc, tmp_path):
    assert rules(doc().replace(b'id="observations"', b'id="edi.1.1"')) == ["duplicate-id"]
    table = Table(
        "t", "s", [Column("salinity", "real", unit="custom:partsPerThousand")], url="https://x.org/t.csv"
    )
    clash = eml_for("edi.1.1", [table], extra_root=UNIT_LIST).replace(
        b'<dataTable id="t"', b'<dataTable id="partsPerThousand"'
    )
    assert "duplicate-id" in rules(clash)


def test_custom_units_may_be_defined_in_any_stmml_version(tmp_path):
    table = Table(
        "t", "s", [Column("salinity", "real", unit="custom:partsPerThousand")], url="https://x.org/t.csv"
    )
    stmml_11 = eml_for("edi.1.1", [table], extra_root=UNIT_LIST).replace(b"stmml-1.2", b"stmml-1.1")
    assert b"stmml-1.1" in stmml_11
    assert rules(stmml_11) == []
    renamed = stmml_11.replace(b'stmml:unit id="partsPerThousand"', b'stmml:unit id="ppt"')
    assert rules(renamed) == ["undefined-unit"]


def test_an_annotation_deeper_in_metadata_needs_its_own_subject(doc):
    deep = (
        f"<additionalMetadata><describes>stations</describes><metadata><note>{ANNOTATION}</note></metadata>"
        "</additionalMetadata>"
    )
    assert rules(doc(extra_root=deep)) == ["annotation-subject"]
    assert rules(doc(extra_root=deep.replace("<note>", '<note id="note-1">'))) == []


def test_references_are_compared_exactly_as_written(doc):
    spaced = doc().replace(b"<references>creator-1", b"<references> creator-1")
    assert b"<references> creator-1" in spaced
    result = validate_eml(spaced)
    assert [f.rule for f in result.findings] == ["dangling-reference"]
    assert "mind the spaces" in result.findings[0].message


def test_eml_211_is_refused_with_the_supported_version(doc):
    old = doc().replace(b"https://eml.ecoinformatics.org/eml-2.2.0", b"eml://ecoinformatics.org/eml-2.1.1")
    result = validate_eml(old)
    assert result.version == "2.1.1"
    assert "accepts EML 2.2.0 only" in result.reasons[0]


def test_an_xml_bomb_is_refused_without_expansion(doc):
    bomb = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;'
        b'&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        + doc().split(b"?>", 1)[1].replace(b"<title>", b"<title>&lol3;")
    )
    result = validate_eml(bomb)
    assert [f.rule for f in result.findings] == ["xml"]
    assert "DOCTYPE" in result.reasons[0]


def test_an_external_entity_is_refused(doc, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = (
        f'<?xml version="1.0"?>\n<!DOCTYPE eml [<!ENTITY xxe SYSTEM "file://{secret}">]>'.encode()
        + doc().split(b"?>", 1)[1].replace(b"<title>", b"<title>&xxe;")
    )
    result = validate_eml(xxe)
    assert not result.valid
    assert "TOP-SECRET" not in " ".join(result.reasons)
    assert "entity" in result.reasons[0]


def test_not_xml_at_all_is_refused():
    assert rules(b"packageId,title\nedi.1.1,nope\n") == ["xml"]


def test_where_emlvp_disagrees_with_the_specification_the_specification_wins():
    """emlvp wants an id on <metadata> for an annotation in additionalMetadata; EML 2.2.0 says the subject is
    what <describes> names. The fixture document is valid by the specification."""
    from pathlib import Path

    from emlvp.exceptions import ParseError
    from emlvp.parser import Parser

    doc = (Path(__file__).parent / "fixtures" / "valid-rich.xml").read_bytes()
    with pytest.raises(ParseError, match="annotation parent"):
        Parser(fail_fast=True).parse(doc.decode())
    assert validate_eml(doc).valid
