"""``manage.py rebuild --verify`` as the tests call it."""

from __future__ import annotations

import io

from django.core.management import CommandError, call_command


def verify(ref: str) -> tuple[bool, str]:
    """Whether the artifact ``ref`` rebuilds identically, and what the command printed (exit status 1
    means "different")."""
    out = io.StringIO()
    try:
        call_command("rebuild", "--verify", ref, stdout=out)
    except CommandError as exc:
        assert exc.returncode == 1
        return False, out.getvalue()
    return True, out.getvalue()
