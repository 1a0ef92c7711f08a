"""JSON bodies that cannot crash a request.

DRF's JSONParser turns a ValueError into a 400, but ``json.loads`` on a deeply nested document
(``[[[[…`` 100,000 deep) raises RecursionError, which used to surface as a 500. The C decoder raises
it cleanly at Python's recursion limit, so catching it costs nothing on ordinary bodies.
"""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc


def json_object(request) -> dict:
    """The request's body as a JSON object (or form fields); anything else — a JSON array, a number,
    ``null`` — is a 400 that says so, not an AttributeError on ``.get``."""
    from portal.errors import UserError

    data = request.data
    if hasattr(data, "get") and not isinstance(data, (list, str)):
        return data
    raise UserError("Send a JSON object.")
