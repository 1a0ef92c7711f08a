from django.apps import AppConfig


class SwarmConfig(AppConfig):
    name = "apps.swarm"
    label = "swarm"

    def ready(self) -> None:
        from apps.publishing import extensions as publishing_extensions

        from . import receivers  # noqa: F401  (a torrent on packages.signals.revision_changed)
        from .services import datacite_copies, landing_links

        publishing_extensions.add_landing_links(landing_links)
        publishing_extensions.add_copies(datacite_copies)
