"""Deployment checks for what Quayside publishes (``manage.py check``, and before ``migrate``).

Everything a harvester or DataCite is told outlives the deployment's first week: a DOI registered with a
loopback landing URL resolves nowhere, and an OAI-PMH Identify with a placeholder address leaves
harvesters no one to write to. In production these are refused or flagged before anything is published.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0", "testserver"}


@checks.register(checks.Tags.compatibility, deploy=False)
def check_public_identity(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if not settings.PRODUCTION:
        return []
    found: list[checks.CheckMessage] = []
    host = (urlsplit(settings.SITE_BASE_URL).hostname or "").lower()
    if host in LOCAL_HOSTS:
        message = f"SITE_BASE_URL is {settings.SITE_BASE_URL}: DOI targets, OAI-PMH and feeds would name a local address."
        if settings.DATACITE_API_URL:
            found.append(
                checks.Error(
                    message,
                    hint="Set SITE_BASE_URL to the portal's public https URL before "
                    "registering DOIs (DATACITE_API_URL is set).",
                    id="quayside.E001",
                )
            )
        else:
            found.append(
                checks.Warning(
                    message, hint="Set SITE_BASE_URL to the portal's public https URL.", id="quayside.W001"
                )
            )
    email_host = settings.OAI_ADMIN_EMAIL.rpartition("@")[2].lower()
    if "." not in email_host or email_host in LOCAL_HOSTS:
        found.append(
            checks.Warning(
                f"OAI_ADMIN_EMAIL is {settings.OAI_ADMIN_EMAIL}: OAI-PMH Identify gives harvesters no address to write to.",
                hint="Set OAI_ADMIN_EMAIL (or DEFAULT_FROM_EMAIL) to a monitored address.",
                id="quayside.W002",
            )
        )
    return found
