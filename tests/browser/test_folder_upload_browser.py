"""The folder drop zone in headless Chromium: the operator picks a folder of three files (two of them in a
sub-folder) in Uppy's Dashboard on a delivery's upload page, uploads it over tus with the session's CSRF
token, and each file arrives with its path inside the folder; the worker's placement puts them under the
delivery's upload folder. No Content Security Policy violation on the way (Uppy is a static script).

Playwright cannot build the DataTransfer of a real folder drag (browsers fill ``webkitGetAsEntry`` only
for a user's drop), so the folder goes through the Dashboard's "browse folders" input, which gives Uppy
the same relative paths (``webkitRelativePath``)."""

import pytest

from apps.deliveries.models import Delivery
from apps.deliveries.services import upload_root
from apps.uploads import services
from apps.uploads.models import Upload
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_uploads_a_folder_and_the_paths_are_kept(
    live_server, browser, tmp_path, settings, cruise, operator_user
):
    settings.VAR_DIR = tmp_path / "var"
    delivery = Delivery.objects.create(cruise=cruise, shipment="S9", method=Delivery.Method.UPLOAD)
    folder = tmp_path / "RR2401"
    (folder / "CTD").mkdir(parents=True)
    (folder / "README.txt").write_text("delivery notes\n")
    (folder / "CTD" / "cast1.hex").write_bytes(b"\x01" * 5000)
    (folder / "CTD" / "cast2.hex").write_bytes(b"\x02" * 7000)

    page = browser.new_page()
    violations = []
    page.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
    login(page, live_server.url, operator_user.email)
    page.goto(f"{live_server.url}/uploads/?delivery={delivery.pk}")
    page.wait_for_selector(".uppy-Dashboard")
    page.locator(".uppy-Dashboard input[webkitdirectory]").first.set_input_files(folder)
    page.locator(".uppy-StatusBar-actionBtn--upload").click()
    page.wait_for_selector("[data-folder-upload][data-state=complete]", timeout=20_000)
    assert "3 uploaded" in page.locator("[data-field=status]").inner_text()

    uploads = Upload.objects.filter(target_kind="delivery", target_id=str(delivery.pk))
    assert sorted(uploads.values_list("relative_path", flat=True)) == [
        "RR2401/CTD/cast1.hex",
        "RR2401/CTD/cast2.hex",
        "RR2401/README.txt",
    ]
    # The list shows them waiting for the worker, and follows them (list.js) until they are stored.
    page.goto(f"{live_server.url}/uploads/")
    assert page.locator("#uploads tr[data-live='1']").count() == 3
    for upload in uploads:
        assert services.place_upload(upload.pk).state == Upload.State.DONE
    page.wait_for_selector("#uploads tr[data-live='1']", state="detached", timeout=10_000)
    assert page.locator("#uploads td.state-ok").count() == 3
    page.close()
    root = upload_root(delivery) / "RR2401"
    assert (root / "CTD" / "cast2.hex").read_bytes() == b"\x02" * 7000
    assert violations == []
