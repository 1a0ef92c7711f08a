"""`make run`'s demo loader speaks in a short summary; its e-mails go to files, not the console."""

import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=True)


def test_load_demo_prints_a_short_summary_and_keeps_mail_in_files(settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"  # the development default
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    printed = out.getvalue() + capsys.readouterr().out
    assert "Subject:" not in printed and "Content-Type:" not in printed
    assert len(printed.splitlines()) < 60, printed
    assert "Demo loaded" in printed
    mails = sorted((tmp_path / "demo-mail").glob("*.eml"))
    assert mails and f"{len(mails)} demo e-mails" in printed
    assert b"Subject:" in mails[0].read_bytes()
