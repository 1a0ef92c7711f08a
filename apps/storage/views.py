from django.http import Http404

from apps.accounts.decorators import data_manager_required

from . import services
from .http import blob_response


@data_manager_required
def blob_download(request, sha256: str):
    """Raw blob by SHA-256, for data managers only: public downloads go through a package, share or
    torrent path that checks access to the thing the blob belongs to."""
    try:
        blob = services.get_blob(sha256)
    except services.BlobNotFound as exc:
        raise Http404("No blob with this SHA-256.") from exc
    return blob_response(request, blob, filename=sha256)
