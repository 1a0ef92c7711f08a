"""Logging filters for the console.

Django logs every 4xx and 5xx answer on ``django.request``; a refused request (403, 404) carries the
exception that refused it, so the console printed a full traceback for an ordinary "no". The web server's
access log (runserver's, gunicorn's ``accesslog``) already gives every request one line with its status,
so a 4xx needs nothing more; a 5xx is a bug and keeps its traceback.
"""

import logging


class ClientErrorsOnOneLine(logging.Filter):
    """On ``django.request``: drop the record of a 4xx answer (the access log's line is the one line for
    it) unless the log is at DEBUG, and even then without a traceback; keep 5xx records whole."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is None or not 400 <= status < 500:
            return True
        record.exc_info = None
        record.exc_text = None
        return logging.getLogger().isEnabledFor(logging.DEBUG)
