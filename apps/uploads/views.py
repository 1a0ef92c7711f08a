"""/uploads/: your resumable uploads (receiving, finished, failed, expired) and, given a target
(``?delivery=<pk>``), the folder drop zone that uploads into it."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from portal.errors import QuaysideError

from . import targets
from .models import Upload


@login_required
def upload_list(request):
    uploads = Upload.objects.filter(user=request.user).order_by("-created_at")[:200]
    drop = None
    for kind in targets.kinds():
        target_id = request.GET.get(kind)
        if target_id:
            target = targets.get(kind)
            try:
                target.check(request.user, target_id, {})
            except QuaysideError as exc:
                drop = {"refused": exc.message}
            else:
                drop = {"metadata": {kind: target_id}, "label": target.label(target_id)}
            break
    return render(
        request,
        "uploads/list.html",
        {
            "uploads": uploads,
            "drop": drop,
            "expire_hours": settings.UPLOADS_EXPIRE_HOURS,
            "live_states": Upload.LIVE_STATES,
        },
    )
