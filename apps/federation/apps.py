from django.apps import AppConfig


class FederationConfig(AppConfig):
    name = "apps.federation"
    label = "federation"
    verbose_name = "Federation (OAI-PMH harvesting, remote records, local mirrors)"
