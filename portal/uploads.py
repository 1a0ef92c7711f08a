from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from .middleware import UploadTooLarge


class LimitedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Streams uploads to a temporary file and stops one that grows past MAX_UPLOAD_SIZE
    (a chunked request carries no Content-Length for the middleware to check)."""

    def new_file(self, *args, **kwargs):
        self._received = 0
        return super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        self._received += len(raw_data)
        if self._received > settings.MAX_UPLOAD_SIZE:
            raise UploadTooLarge(f"{self.file_name} is larger than the limit of {settings.MAX_UPLOAD_SIZE:,} bytes.")
        return super().receive_data_chunk(raw_data, start)
