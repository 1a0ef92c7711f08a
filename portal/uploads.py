from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler


class LimitedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Streams uploads to a temporary file in SCRATCH_DIR and stops one that grows past MAX_UPLOAD_SIZE.

    Stopping is a ``StopUpload`` (the parser closes and deletes the partial file and reads no further)
    plus a note on the request; ``RequestLimitsMiddleware`` turns the note into a 413 whichever code
    happened to parse the body first (the CSRF check often does).
    """

    def new_file(self, *args, **kwargs):
        self._received = 0
        return super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        self._received += len(raw_data)
        if self._received > settings.MAX_UPLOAD_SIZE:
            self.request.upload_refused = f"The file {self.file_name!r}"
            raise StopUpload(connection_reset=True)
        return super().receive_data_chunk(raw_data, start)
