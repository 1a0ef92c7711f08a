from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler

from apps.storage import scratch


class LimitedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Streams uploads to a temporary file in SCRATCH_DIR and stops one that grows past MAX_UPLOAD_SIZE
    or fills the scratch disk.

    Stopping is a ``StopUpload`` (the parser closes and deletes the partial file and reads no further)
    plus a note on the request; ``RequestLimitsMiddleware`` turns the note into a 413 (too large) or a 507
    (scratch full) whichever code happened to parse the body first (the CSRF check often does). Any other
    error while writing closes and removes the partial file before it goes up: a failed upload never
    leaves a file open in the web worker.
    """

    def new_file(self, *args, **kwargs):
        self._received = 0
        try:
            return super().new_file(*args, **kwargs)
        except OSError as exc:
            self._stop_if_disk_full(exc)
            raise

    def receive_data_chunk(self, raw_data, start):
        self._received += len(raw_data)
        if self._received > settings.MAX_UPLOAD_SIZE:
            self.request.upload_refused = f"The file {self.file_name!r}"
            raise StopUpload(connection_reset=True)
        try:
            return super().receive_data_chunk(raw_data, start)
        except BaseException as exc:
            self.upload_interrupted()  # closes the temporary file, which removes it
            self._stop_if_disk_full(exc)
            raise

    def _stop_if_disk_full(self, exc: BaseException) -> None:
        if scratch.is_disk_full(exc):
            self.request.upload_refused_storage = scratch.full_message(f"the file {self.file_name!r}")
            raise StopUpload(connection_reset=True) from exc
