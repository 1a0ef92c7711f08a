from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render

from apps.access.decorators import data_manager_required

from . import services
from .http import blob_response


class UploadForm(forms.Form):
    file = forms.FileField(
        help_text="Stored once under its SHA-256; uploading the same bytes again stores nothing new."
    )


@data_manager_required
def blob_download(request, sha256: str):
    """Raw blob by SHA-256, for data managers only: public downloads go through a package, share or
    torrent path that checks access to the thing the blob belongs to."""
    try:
        blob = services.get_blob(sha256)
    except services.BlobNotFound as exc:
        raise Http404("No blob with this SHA-256.") from exc
    return blob_response(request, blob, filename=sha256)


@data_manager_required
def upload(request):
    """Put a file into object storage by hand (curators replacing or adding an object)."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        blob, is_new = services.upload_blob(form.cleaned_data["file"], user=request.user, request=request)
        messages.success(
            request, f"{'Stored' if is_new else 'Already stored'}: {blob.sha256} ({blob.size:,} bytes)."
        )
        request.session["last_blob"] = blob.sha256
        return redirect("storage:upload")
    last = request.session.pop("last_blob", None)
    blob = services.Blob.objects.filter(pk=last).first() if last else None
    return render(request, "storage/upload.html", {"form": form, "blob": blob})
