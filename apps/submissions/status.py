"""The status of a submission as JSON: one shape for the live status page's polling and the API."""

from __future__ import annotations

from .models import Submission


def status_payload(sub: Submission) -> dict:
    return {
        "transaction": sub.transaction,
        "kind": sub.kind,
        "state": sub.state,
        "package_id": sub.package_id_text,
        "finished": sub.finished,
        "error": sub.error,
        "report_status": sub.report_status,
        "revision_state": sub.revision.state if sub.revision_id else None,
        "steps": [
            {
                "name": s.name,
                "label": s.get_name_display(),
                "state": s.state,
                "message": s.message,
                "attempts": s.attempts,
                "started_at": s.started_at,
                "finished_at": s.finished_at,
            }
            for s in sub.steps.all()
        ],
    }
