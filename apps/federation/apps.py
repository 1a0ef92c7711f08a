from django.apps import AppConfig


class FederationConfig(AppConfig):
    name = "apps.federation"
    label = "federation"
    verbose_name = "Federation (OAI-PMH harvesting, remote records, local mirrors)"

    def ready(self) -> None:
        from apps.swarm import extensions as swarm_extensions

        from .services import seedables

        swarm_extensions.add_seedables(seedables)
