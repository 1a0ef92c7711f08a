"""The Operations Report as PDF (WeasyPrint): a real A4 PDF, the HTML report's access rule, a 503 that
explains itself where Pango is missing, and nothing fetched from the network while rendering."""

import builtins
import io
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pypdf import PdfReader

from apps.cruises import sailing_orders
from tests.conftest import require_system


def _pango_loads() -> bool:
    try:
        import weasyprint  # noqa: F401  (loads Pango through cffi: OSError when the library is missing)
    except (ImportError, OSError):
        return False
    return True


@pytest.fixture
def pango():
    """The tests that render a real PDF need Pango: skipped locally without it, a failure in CI."""
    require_system(
        "Pango (for WeasyPrint's PDF)", _pango_loads(), "apt-get install -y libpango-1.0-0 libpangoft2-1.0-0"
    )


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_pdf_is_an_a4_pdf_of_the_report(pango, client, cruise, operator_user, chief_scientist):
    from apps.eventlogs.services import add_entry
    from tests.cruises.helpers import open_log

    open_log(cruise, operator_user)
    add_entry(cruise, chief_scientist, {"instrument": "CTD", "action": "deploy", "station": "S1"})
    client.force_login(chief_scientist)  # the open log's counts are for the cruise's people
    response = client.get(f"/cruises/{cruise.pk}/report.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="TE2401-operations-report.pdf"'
    assert response.content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(response.content))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points, from @page
    text = _pdf_text(response.content)
    assert "Operations Report: TE2401" in text and "Test Explorer" in text and "Chief Scientist" in text
    assert "1 events (log open)" in text
    assert "Download PDF" not in text  # the link is for the HTML page only


@pytest.mark.parametrize("who", ["anonymous", "plain", "chief_scientist", "operator"])
def test_the_pdf_is_public_like_the_html_report(pango, client, role_user, cruise, who):
    # The HTML report is public (tests/cruises/test_pages.py); the PDF follows the same rule.
    user = role_user(who)
    if user is not None:
        client.force_login(user)
    assert client.get(f"/cruises/{cruise.pk}/report/").status_code == 200
    response = client.get(f"/cruises/{cruise.pk}/report.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")


def test_the_pdf_leaves_party_emails_out_and_unknown_cruises_are_404(pango, client, cruise, chief_scientist):
    client.force_login(chief_scientist)
    assert "chief@example.org" not in _pdf_text(client.get(f"/cruises/{cruise.pk}/report.pdf").content)
    assert client.get(f"/cruises/{cruise.pk + 1000}/report.pdf").status_code == 404


def test_the_html_report_links_to_the_pdf(pango, client, cruise):
    html = client.get(f"/cruises/{cruise.pk}/report/").content.decode()
    assert f'href="/cruises/{cruise.pk}/report.pdf"' in html and "Download PDF" in html


def _refuse_weasyprint_import(monkeypatch, error: Exception) -> None:
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "weasyprint" or name.startswith("weasyprint."):
            raise error
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "weasyprint", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)


@pytest.mark.parametrize(
    "error",
    [
        ImportError("No module named 'weasyprint'"),
        OSError("cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared object file"),
    ],
)
def test_without_weasyprint_or_pango_the_pdf_is_503_and_says_why(client, cruise, monkeypatch, error):
    _refuse_weasyprint_import(monkeypatch, error)
    response = client.get(f"/cruises/{cruise.pk}/report.pdf")
    assert response.status_code == 503
    message = response.content.decode()
    assert "needs the Pango library" in message and "libpango-1.0-0" in message
    assert f"/cruises/{cruise.pk}/report/ prints fine" in message
    html = client.get(f"/cruises/{cruise.pk}/report/")
    assert (
        html.status_code == 200 and b"Download PDF" not in html.content and b"report.pdf" not in html.content
    )


class _CountingServer:
    """A web server on 127.0.0.1 that counts requests and serves a stylesheet, a font and an image."""

    def __init__(self):
        self.paths: list[str] = []
        seen = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append(self.path)
                body = b"p { color: red }" if self.path.endswith(".css") else b"\x89PNG\r\n\x1a\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/css" if self.path.endswith(".css") else "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def web_server(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)  # the control render must reach 127.0.0.1 directly
    server = _CountingServer()
    yield server
    server.close()


def _document_with_remote_resources(url: str) -> str:
    return f"""<!DOCTYPE html><html><head>
<link rel="stylesheet" href="{url}/linked.css">
<style>@import url("{url}/imported.css"); @font-face {{ font-family: X; src: url("{url}/font.woff") }}
body {{ background: url("{url}/background.png") }}</style></head>
<body><p style="font-family: X">Report TE2401</p><img src="{url}/image.png" alt=""></body></html>"""


def test_rendering_fetches_nothing_over_http(pango, web_server):
    pdf = sailing_orders.html_to_pdf(_document_with_remote_resources(web_server.url))
    assert pdf.startswith(b"%PDF-") and "Report TE2401" in _pdf_text(pdf)
    assert web_server.paths == []


def test_the_control_render_with_weasyprints_default_fetcher_does_reach_the_server(pango, web_server):
    # Shows the test above could fail: the same document, rendered without our fetcher, is fetched.
    import weasyprint

    weasyprint.HTML(string=_document_with_remote_resources(web_server.url)).write_pdf()
    assert "/linked.css" in web_server.paths and "/image.png" in web_server.paths


def test_the_fetcher_refuses_every_scheme_but_data(web_server, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the PDF")
    fetcher = sailing_orders.offline_url_fetcher()
    for url in (f"{web_server.url}/x.png", "https://127.0.0.1:1/x.png", secret.as_uri(), "ftp://127.0.0.1/x"):
        with pytest.raises(ValueError, match="reads data: URIs only"):
            fetcher(url)
    assert web_server.paths == []
    assert fetcher("data:text/plain;base64,aGVsbG8=").read() == b"hello"
