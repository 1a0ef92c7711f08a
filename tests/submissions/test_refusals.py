"""Every refusal the issue lists: the submission fails with the right reason, and nothing is archived."""

from __future__ import annotations

import pytest

from apps.packages.eml.build import Table
from apps.packages.models import Entity, Resource, Revision
from apps.submissions import services
from apps.submissions.models import Step
from tests.packages.helpers import OBS_COLUMNS, eml_for, two_tables, write_observations
from tests.packages.test_eml_rules import ANNOTATION

pytestmark = pytest.mark.django_db


def submit_and_run(user, eml):
    return services.run_all(services.submit(user, eml, start=False))


def assert_nothing_archived(sub):
    assert sub.state == "failed"
    assert sub.report_xml.startswith("<?xml")
    rev = sub.revision
    if rev is not None:
        rev.refresh_from_db()
        assert rev.state == Revision.State.FAILED
        assert rev.eml_blob_id is None and rev.archived_at is None
        assert not Resource.objects.filter(revision=rev).exists()
        assert not Entity.objects.filter(revision=rev).exists()
    assert not Resource.objects.filter(package_id=sub.package_id_text).exists()


def _eml_mutation(old: bytes, new: bytes):
    return lambda tables: eml_for("edi.200.1", tables).replace(old, new, 1)


EML_REFUSALS = {
    "schema error": (_eml_mutation(b"<pubDate>", b"<bogus/><pubDate>"), "bogus", "validate"),
    "duplicate id": (
        _eml_mutation(b'id="observations"', b'id="stations"'),
        'id "stations" is used 2 times',
        "validate",
    ),
    "dangling reference": (
        _eml_mutation(b"<references>creator-1", b"<references>ghost"),
        "points at no element",
        "validate",
    ),
    "id and references": (
        _eml_mutation(b"<contact>", b'<contact id="c9">'),
        "must not carry an id",
        "validate",
    ),
    "annotation without subject": (
        _eml_mutation(b"</attribute>", ANNOTATION.encode() + b"</attribute>"),
        "has no subject",
        "validate",
    ),
    "undefined custom unit": (
        _eml_mutation(b"<standardUnit>celsius</standardUnit>", b"<customUnit>furlong</customUnit>"),
        'custom unit "furlong" is not defined',
        "validate",
    ),
    "bad packageId": (lambda t: eml_for("edi.0200.1", t), "must be scope.identifier.revision", "validate"),
    "unregistered scope": (
        lambda t: eml_for("nowhere.200.1", t),
        'scope "nowhere" is not registered',
        "validate",
    ),
    "xml bomb": (
        lambda t: (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            + eml_for("edi.200.1", t).split(b"?>", 1)[1].replace(b"<title>", b"<title>&b;")
        ),
        "DOCTYPE",
        "validate",
    ),
    "external entity": (
        lambda t: (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            + eml_for("edi.200.1", t).split(b"?>", 1)[1].replace(b"<title>", b"<title>&e;")
        ),
        "entity",
        "validate",
    ),
}


@pytest.mark.parametrize("case", list(EML_REFUSALS))
def test_an_eml_problem_is_refused_with_its_reason(case, vetted_user, data_server, allow_loopback):
    make, reason, step = EML_REFUSALS[case]
    sub = submit_and_run(vetted_user, make(two_tables(data_server.root, data_server.url)))
    assert reason in sub.error, sub.error
    assert sub.steps.get(name=step).state == Step.State.FAILED
    assert set(sub.steps.exclude(name=step).values_list("state", flat=True)) <= {"skipped", "done"}
    assert_nothing_archived(sub)


def test_a_wrong_md5_is_refused(vetted_user, data_server, allow_loopback):
    tables = two_tables(data_server.root, data_server.url)
    tables[1].md5 = "0" * 32
    sub = submit_and_run(vetted_user, eml_for("edi.201.1", tables))
    assert "The MD5 of observations.csv is" in sub.error
    assert sub.steps.get(name="check").state == "failed"
    assert_nothing_archived(sub)


def test_a_wrong_size_is_refused(vetted_user, data_server, allow_loopback):
    tables = two_tables(data_server.root, data_server.url)
    tables[0].size += 1
    sub = submit_and_run(vetted_user, eml_for("edi.202.1", tables))
    assert f"stations.csv is {tables[0].size - 1:,} bytes, the EML declares {tables[0].size:,}" in sub.error
    assert_nothing_archived(sub)


def test_an_unreachable_url_is_refused(vetted_user, data_server, allow_loopback):
    tables = two_tables(data_server.root, data_server.url)
    tables[1].url = f"{data_server.url}/missing.csv"
    sub = submit_and_run(vetted_user, eml_for("edi.203.1", tables))
    assert "answered HTTP 404" in sub.error
    assert sub.steps.get(name="fetch").state == "failed"
    assert_nothing_archived(sub)


def test_a_closed_port_is_unreachable_after_retries(vetted_user, data_server, allow_loopback):
    from tests.support.ports import free_port

    tables = two_tables(data_server.root, data_server.url)
    tables[0].url = f"http://127.0.0.1:{free_port()}/stations.csv"
    sub = submit_and_run(vetted_user, eml_for("edi.204.1", tables))
    assert "is unreachable" in sub.error
    assert_nothing_archived(sub)


@pytest.mark.parametrize("host", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "[::1]", "192.168.0.10"])
def test_a_url_on_a_private_address_is_refused(host, vetted_user, data_server, settings):
    settings.FETCH_ALLOWED_HOSTS = []  # the default: loopback is private too
    tables = two_tables(data_server.root, data_server.url)
    tables[0].url = f"http://{host}:{data_server.port}/stations.csv"
    sub = submit_and_run(vetted_user, eml_for("edi.205.1", tables))
    assert "private, loopback, link-local or reserved address" in sub.error
    assert_nothing_archived(sub)


def test_a_non_http_url_is_refused(vetted_user, data_server, allow_loopback):
    tables = two_tables(data_server.root, data_server.url)
    tables[0].url = "file:///etc/passwd"
    sub = submit_and_run(vetted_user, eml_for("edi.206.1", tables))
    assert "only http and https" in sub.error
    assert_nothing_archived(sub)


def test_a_redirect_to_a_private_address_is_refused(vetted_user, data_server, settings):
    settings.FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.FETCH_RETRIES = 1
    tables = two_tables(data_server.root, data_server.url)
    data_server.routes["/hop.csv"] = (302, {"Location": "http://10.0.0.5/stations.csv"}, b"")
    tables[0].url = f"{data_server.url}/hop.csv"
    sub = submit_and_run(vetted_user, eml_for("edi.207.1", tables))
    assert "10.0.0.5" in sub.error and "private" in sub.error
    assert_nothing_archived(sub)


def test_a_wrong_type_in_row_9999_of_10000_is_found(vetted_user, data_server, allow_loopback):
    path = write_observations(data_server.root / "big.csv", 10_000, bad_row=9_999, bad_value="warm")
    table = Table(
        "big", "Ten thousand observations", OBS_COLUMNS, url=f"{data_server.url}/big.csv"
    ).describe_file(path)
    sub = submit_and_run(vetted_user, eml_for("edi.208.1", [table]))
    assert "big.csv, column temperature" in sub.error
    assert "line 10,000 (data row 9,999): 'warm'" in sub.error
    assert "real number" in sub.error
    assert sub.report_status == "error"
    assert "1 bad value;" in sub.report_xml
    assert_nothing_archived(sub)


def test_a_wrong_column_count_is_refused(vetted_user, data_server, allow_loopback):
    tables = two_tables(data_server.root, data_server.url)
    path = data_server.root / "observations.csv"
    path.write_text(path.read_text().replace("\nS2,", "\nS2,extra,", 1))
    tables[1].describe_file(path)
    sub = submit_and_run(vetted_user, eml_for("edi.209.1", tables))
    assert "rows must have 5 fields" in sub.error
    assert_nothing_archived(sub)


def test_a_wrong_record_count_is_refused(vetted_user, data_server, allow_loopback):
    tables = two_tables(data_server.root, data_server.url)
    tables[1].records += 7
    sub = submit_and_run(vetted_user, eml_for("edi.210.1", tables))
    assert f"has 50 data rows but numberOfRecords says {tables[1].records}" in sub.error
    assert_nothing_archived(sub)


def test_warnings_do_not_block_archiving(vetted_user, data_server, allow_loopback):
    tables = two_tables(data_server.root, data_server.url)
    tables[0].md5 = ""
    sub = submit_and_run(vetted_user, eml_for("edi.211.1", tables, keywords=()))
    assert sub.state == "succeeded", sub.error
    assert sub.report_status == "warn"
    assert "integrityChecksumPresence" in sub.report_xml
