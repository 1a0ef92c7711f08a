from django.apps import AppConfig


class UploadsConfig(AppConfig):
    name = "apps.uploads"
    label = "uploads"
    verbose_name = "Resumable uploads (tus)"

    def ready(self):
        from apps.storage.scratch import register_owner

        # SCRATCH_DIR/uploads/<id> holds the bytes of an upload until the worker places them: the
        # scratch sweeper must leave a paused upload alone until it expires (apps.uploads.tasks does).
        register_owner("uploads", _upload_is_live)


def _upload_is_live(name: str) -> bool:
    import uuid

    from .models import Upload

    try:
        pk = uuid.UUID(name)
    except ValueError:
        return False
    return Upload.objects.filter(pk=pk, state__in=Upload.LIVE_STATES).exists()
