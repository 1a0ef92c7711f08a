"""The management commands validate_eml and evaluate_package, on real files."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.submissions.models import Submission
from tests.packages.helpers import eml_for, two_tables


def test_validate_eml_prints_each_verdict_and_fails_if_any_is_invalid(tmp_path, capsys):
    tables = two_tables(tmp_path, "https://data.example.org")
    good = tmp_path / "good.xml"
    good.write_bytes(eml_for("edi.1.1", tables))
    # The specification alone: a packageId our policy refuses is still valid EML.
    policy_only = tmp_path / "policy.xml"
    policy_only.write_bytes(eml_for("whatever.007.x", tables))
    bad = tmp_path / "bad.xml"
    bad.write_bytes(eml_for("edi.1.1", tables).replace(b'id="observations"', b'id="stations"'))
    call_command("validate_eml", str(good), str(policy_only))
    out = capsys.readouterr().out
    assert f"{good}: VALID (EML 2.2.0)" in out and f"{policy_only}: VALID" in out
    with pytest.raises(CommandError) as info:
        call_command("validate_eml", str(good), str(bad))
    assert info.value.returncode == 1
    out = capsys.readouterr().out
    assert f"{bad}: INVALID" in out and "[duplicate-id]" in out


@pytest.mark.django_db
def test_evaluate_package_prints_the_report_and_archives_nothing(tmp_path, capsys, vetted_user):
    tables = two_tables(tmp_path / "d")
    eml = tmp_path / "p.xml"
    eml.write_bytes(eml_for("edi.800.1", tables))
    data = [str(tmp_path / "d" / t.object_name) for t in tables]
    call_command("evaluate_package", str(eml), "--user", vetted_user.email, "--data", *data)
    out = capsys.readouterr().out
    assert "Quality report for edi.800.1: valid" in out and "integrityChecksum" in out
    tables[0].records = 99
    eml.write_bytes(eml_for("edi.800.1", tables))
    with pytest.raises(CommandError, match="numberOfRecords says 99"):
        call_command("evaluate_package", str(eml), "--user", vetted_user.email, "--data", *data)
    assert not Submission.objects.filter(revision__isnull=False).exists()


def test_validate_eml_on_the_fixture_documents(capsys):
    from pathlib import Path

    fixtures = Path(__file__).parent / "fixtures"
    call_command("validate_eml", str(fixtures / "valid-rich.xml"))  # annotations, describes, a unitList
    assert "VALID (EML 2.2.0)" in capsys.readouterr().out
    for name, reason in (
        ("invalid-undefined-unit.xml", "[undefined-unit]"),
        ("eml-2.1.1.xml", "accepts EML 2.2.0 only"),
    ):
        with pytest.raises(CommandError):
            call_command("validate_eml", str(fixtures / name))
        assert reason in capsys.readouterr().out
