from celery.signals import task_failure

from .services import record_event


@task_failure.connect
def audit_task_failure(sender=None, task_id=None, exception=None, args=None, **kwargs):
    """A task that ends in an exception leaves an error event (services record successes)."""
    try:
        record_event(
            service="worker",
            method=getattr(sender, "name", "task"),
            text=f"task {task_id} failed: {exception!r}; args={args!r}"[:4000],
            category="error",
            auth_system="worker",
        )
    except Exception:  # the database itself may be what failed
        pass
