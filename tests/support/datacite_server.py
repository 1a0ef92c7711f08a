"""A small local server speaking DataCite's documented REST API (https://support.datacite.org/docs/api).

Basic auth with repository id and password; JSON:API documents (``application/vnd.api+json``);
``POST /dois`` (201 draft, 422 when the DOI is taken or the prefix is not the repository's),
``PUT /dois/{doi}`` (metadata as base64 XML, validated against the DataCite 4.5 XSD; events
``publish`` → findable, ``register`` → registered, ``hide`` findable → registered), ``GET /dois/{doi}``.
``outage = True`` answers 500 to everything; ``fail_next(n)`` fails the next n calls.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lxml import etree

from .schemas import SCHEMAS

XSD = SCHEMAS / "datacite-4.5" / "metadata.xsd"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args):
        pass

    def _send(self, status: int, document: dict) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.api+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, title: str) -> None:
        self._send(status, {"errors": [{"status": str(status), "title": title}]})

    def _authorised(self) -> bool:
        expected = (
            "Basic "
            + base64.b64encode(f"{self.server.repository_id}:{self.server.password}".encode()).decode()
        )
        return self.headers.get("Authorization") == expected

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _document(self, doi: str) -> dict:
        record = self.server.dois[doi]
        attributes = {
            "doi": doi,
            "state": record["state"],
            "url": record.get("url"),
            "xml": base64.b64encode(record["xml"]).decode() if record.get("xml") else None,
        }
        return {"data": {"id": doi, "type": "dois", "attributes": attributes}}

    def _guard(self) -> bool:
        with self.server.lock:
            self.server.requests.append((self.command, self.path))
            if self.server.outage:
                self._error(500, "Internal server error")
                return False
            if self.server.failures > 0:
                self.server.failures -= 1
                self._error(500, "Internal server error")
                return False
        if not self._authorised():
            self._error(401, "Bad credentials")
            return False
        return True

    def do_GET(self):
        if not self._guard():
            return
        doi = self.path.removeprefix("/dois/").lower()
        if not self.path.startswith("/dois/") or doi not in self.server.dois:
            return self._error(404, "The resource you are looking for doesn't exist.")
        self._send(200, self._document(doi))

    def do_POST(self):
        if not self._guard():
            return
        if self.path != "/dois":
            return self._error(404, "Not found")
        attributes = self._body().get("data", {}).get("attributes", {})
        doi = str(attributes.get("doi", "")).lower()
        if not doi.startswith(self.server.prefix + "/"):
            return self._error(
                422, f"Prefix of {doi} is not assigned to repository {self.server.repository_id}"
            )
        with self.server.lock:
            if doi in self.server.dois:
                return self._error(422, "This DOI has already been taken")
            self.server.dois[doi] = {"state": "draft"}
        self._send(201, self._document(doi))

    def do_PUT(self):
        if not self._guard():
            return
        if not self.path.startswith("/dois/"):
            return self._error(404, "Not found")
        doi = self.path.removeprefix("/dois/").lower()
        attributes = self._body().get("data", {}).get("attributes", {})
        with self.server.lock:
            record = self.server.dois.setdefault(doi, {"state": "draft"})
            if attributes.get("xml"):
                xml = base64.b64decode(attributes["xml"])
                try:
                    document = etree.fromstring(xml)
                except etree.XMLSyntaxError as exc:
                    return self._error(422, f"Metadata is not well-formed: {exc}")
                if not self.server.schema.validate(document):
                    return self._error(
                        422, f"Metadata does not validate: {self.server.schema.error_log.last_error}"
                    )
                record["xml"] = xml
            if attributes.get("url"):
                record["url"] = attributes["url"]
            event = attributes.get("event")
            if event in ("publish", "register") and not (record.get("xml") and record.get("url")):
                return self._error(422, "A DOI needs metadata and a URL before it can be registered")
            if event == "publish":
                record["state"] = "findable"
            elif event == "register":
                record["state"] = "registered"
            elif event == "hide":
                if record["state"] != "findable":
                    return self._error(422, "Only a findable DOI can be hidden")
                record["state"] = "registered"
            record.setdefault("history", []).append(event or "update")
        self._send(200, self._document(doi))


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class DataCiteServer:
    def __init__(self, prefix: str = "10.80000", repository_id: str = "QS.TEST", password: str = "secret"):
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.prefix = prefix.lower()
        self.httpd.repository_id = repository_id
        self.httpd.password = password
        self.httpd.dois = {}
        self.httpd.requests = []
        self.httpd.outage = False
        self.httpd.failures = 0
        self.httpd.lock = threading.Lock()
        self.httpd.schema = etree.XMLSchema(etree.parse(str(XSD)))
        self.repository_id, self.password, self.prefix = repository_id, password, prefix
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def dois(self) -> dict:
        return self.httpd.dois

    @property
    def requests(self) -> list:
        return self.httpd.requests

    @property
    def outage(self) -> bool:
        return self.httpd.outage

    @outage.setter
    def outage(self, value: bool) -> None:
        self.httpd.outage = value

    def fail_next(self, n: int) -> None:
        self.httpd.failures = n

    def start(self) -> DataCiteServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


if __name__ == "__main__":  # a stand-alone server for the demo: python -m tests.support.datacite_server
    import sys
    import time

    server = DataCiteServer(prefix=sys.argv[1] if len(sys.argv) > 1 else "10.80000").start()
    print(
        f"DataCite test server on {server.url} (repository {server.repository_id}, password {server.password})",
        flush=True,
    )
    while True:
        time.sleep(3600)
