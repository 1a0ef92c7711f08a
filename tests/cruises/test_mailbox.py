import mailbox
from email.message import EmailMessage

from django.core.management import call_command

from apps.cruises.models import Cruise
from tests.cruises.helpers import sailing_orders


def _message(sender: str, attachment: bytes, name: str = "orders.xml") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Ops <{sender}>"
    msg["To"] = "orders@quayside.example"
    msg["Subject"] = "Sailing orders"
    msg["Message-ID"] = "<m1@example.org>"
    msg.set_content("Orders attached.")
    msg.add_attachment(attachment, maintype="application", subtype="xml", filename=name)
    return msg


def test_maildir_message_is_ingested_and_answered(tmp_path, operator_user, vessel, settings, mailoutbox):
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(_message(operator_user.email, sailing_orders()))
    box.add(_message(operator_user.email, sailing_orders(cruise_id="TE2403", vessel_code="ZZ"), "bad.xml"))
    settings.CRUISE_MAILBOX_URL = f"maildir://{tmp_path / 'Maildir'}"
    call_command("read_mailbox")
    assert Cruise.objects.filter(cruise_id="TE2402", vessel=vessel).exists()
    assert not Cruise.objects.filter(cruise_id="TE2403").exists()
    bodies = sorted(m.body for m in mailoutbox if m.to == [operator_user.email])
    assert any("accepted as cruise TE2402" in b for b in bodies)
    assert any("bad.xml: NOT accepted" in b and "line 4: unknown vessel code 'ZZ'" in b for b in bodies)
    assert all(m.subject == "Re: Sailing orders" for m in mailoutbox)
    # Handled messages are marked seen: a second run answers nobody again.
    before = len(mailoutbox)
    call_command("read_mailbox")
    assert len(mailoutbox) == before


def test_unknown_sender_gets_a_refusal(tmp_path, vessel, settings, mailoutbox):
    box = mailbox.Maildir(tmp_path / "M", create=True)
    box.add(_message("stranger@example.net", sailing_orders()))
    from apps.cruises.tasks import read_mailbox

    settings.CRUISE_MAILBOX_URL = f"maildir://{tmp_path / 'M'}"
    assert read_mailbox() == 1
    assert not Cruise.objects.exists()
    assert "not a Quayside user" in mailoutbox[0].body


def test_imap_mailbox_is_read_over_a_real_socket(operator_user, vessel, settings, mailoutbox):
    from tests.cruises.imapserver import ImapServer, Mailbox

    box = Mailbox("orders", "s3cret/pass")
    box.add(_message(operator_user.email, sailing_orders()).as_bytes())
    with ImapServer(box) as server:
        settings.CRUISE_MAILBOX_URL = f"imap://orders:s3cret%2Fpass@127.0.0.1:{server.port}/INBOX"
        call_command("read_mailbox")
        assert box.seen == {1} and box.logins == ["orders"]
        call_command("read_mailbox")  # nothing unseen left
    assert Cruise.objects.filter(cruise_id="TE2402", vessel=vessel).count() == 1
    assert len(mailoutbox) == 1 and "accepted as cruise TE2402" in mailoutbox[0].body
