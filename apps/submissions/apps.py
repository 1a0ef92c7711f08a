from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    name = "apps.submissions"
    label = "submissions"

    def ready(self):
        from apps.storage.scratch import register_owner

        # SCRATCH_DIR/submissions/<pk>/ holds a submission's fetched files until it finishes.
        register_owner("submissions", _submission_is_live)


def _submission_is_live(name: str) -> bool:
    from .models import Submission

    if not name.isdigit():
        return False
    return Submission.objects.filter(
        pk=int(name), state__in=[Submission.State.PENDING, Submission.State.RUNNING]
    ).exists()
