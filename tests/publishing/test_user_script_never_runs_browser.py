"""What people supply never runs as script on the portal's origin (portal/csp.py).

EML accepts any XHTML in ``additionalMetadata``; data files are whatever people upload. Each hostile
document below would, if it ran, load a beacon URL from the live server; headless Chromium opens every
path that serves it inline and the test fails on any beacon request or console message from it."""

from __future__ import annotations

import pytest

from apps.packages.models import Entity
from apps.publishing.oai.provider import oai_identifier
from apps.storage.services import store_bytes
from tests.browser.conftest import browser  # noqa: F401  (headless Debian Chromium, shared fixture)
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BEACON = "xss-beacon"
SCRIPT = f"new Image().src='/{BEACON}/'+location.pathname; console.log('{BEACON} ran')"

HOSTILE_EML = f"""<?xml version="1.0" encoding="UTF-8"?>
<eml:eml xmlns:eml="https://eml.ecoinformatics.org/eml-2.2.0" packageId="{{pid}}" system="https://quayside.invalid">
  <dataset>
    <title>Hostile metadata</title>
    <creator><individualName><surName>Mallory</surName></individualName></creator>
    <contact><individualName><surName>Mallory</surName></individualName></contact>
  </dataset>
  <additionalMetadata><metadata>
    <html:div xmlns:html="http://www.w3.org/1999/xhtml"><html:script>{SCRIPT}</html:script>
    <html:img src="x" onerror="{SCRIPT}"/></html:div>
  </metadata></additionalMetadata>
</eml:eml>
"""
HOSTILE_HTML = f"<!doctype html><html><body><script>{SCRIPT}</script><p>data</p></body></html>"
HOSTILE_SVG = (
    f'<svg xmlns="http://www.w3.org/2000/svg"><script>{SCRIPT}</script><rect width="9" height="9"/></svg>'
)


HOSTILE_SAILING_ORDERS = f"""<?xml version="1.0"?>
<?xml-stylesheet type="text/xsl" href="data:text/xsl,x"?>
<sailingOrders xmlns:html="http://www.w3.org/1999/xhtml"><cruiseId>RR9999</cruiseId>
<html:script>{SCRIPT}</html:script></sailingOrders>
"""


def test_scripts_in_eml_data_files_and_sailing_orders_never_run(
    live_server,
    browser,  # noqa: F811  (the shared fixture imported above)
    make_revision,
    data_manager,
    cruise,
):
    revision = make_revision("published", files=0)
    revision.eml_blob = store_bytes(HOSTILE_EML.format(pid=revision.package_id_text).encode())
    revision.save(update_fields=["eml_blob"])
    entities = []
    for name, body, mime in (
        ("page.html", HOSTILE_HTML, "text/html"),
        ("figure.svg", HOSTILE_SVG, "image/svg+xml"),
    ):
        blob = store_bytes(body.encode())
        entities.append(
            Entity.objects.create(
                revision=revision,
                entity_id=name,
                name=name,
                object_name=name,
                declared_size=blob.size,
                declared_md5=blob.md5,
                format_name=mime,
                mime_type=mime,
                blob=blob,
            )
        )
    from apps.cruises.models import CruiseFile
    from apps.cruises.services import attach_file

    orders = attach_file(
        cruise,
        kind=CruiseFile.Kind.SAILING_ORDERS,
        filename="RR9999.xml",
        data=HOSTILE_SAILING_ORDERS.encode(),
        content_type="application/xml",
    )
    pkg = revision.package
    base = live_server.url
    paths = [
        f"/dataset/{pkg.scope}/{pkg.identifier}/{revision.number}/export/eml.xml",
        f"/oai?verb=GetRecord&metadataPrefix=eml&identifier="
        f"{oai_identifier(pkg.scope, pkg.identifier, revision.number)}",
        f"/dataset/{pkg.scope}/{pkg.identifier}/{revision.number}/",
    ]
    paths += [f"/dataset/{pkg.scope}/{pkg.identifier}/{revision.number}/files/{e.pk}" for e in entities]
    paths += [
        f"/package/data/eml/{pkg.scope}/{pkg.identifier}/{revision.number}/{e.entity_id}" for e in entities
    ]
    paths.append(f"/cruises/{cruise.pk}/files/{orders.pk}/{orders.filename}")

    page = browser.new_page()
    login(page, base, data_manager.email)  # the person most likely to open a hostile file
    ran: list[str] = []
    page.on("request", lambda r: ran.append(r.url) if BEACON in r.url else None)
    page.on("console", lambda m: ran.append(m.text) if BEACON in m.text else None)
    served = {}
    for path in paths:
        with page.expect_response(
            lambda r, p=path: r.url.endswith(p.split("?")[0]) or "verb=" in r.url
        ) as info:
            try:
                page.goto(base + path)
            except Exception:  # noqa: BLE001  a download (attachment) aborts navigation: it did not render
                pass
        served[path] = info.value.headers.get("content-security-policy", "")
        page.wait_for_timeout(300)
    page.close()
    assert ran == [], f"user-supplied script ran: {ran}"
    for path, policy in served.items():
        if any(part in path for part in ("/export/", "verb=", "/files/", "/package/data/")):
            assert "sandbox" in policy, (path, policy)
        else:
            assert "script-src 'self' 'nonce-" in policy, (path, policy)
