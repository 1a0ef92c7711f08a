from django.apps import AppConfig


class ArtifactsConfig(AppConfig):
    name = "apps.artifacts"
    label = "artifacts"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (build on packages.signals.revision_changed; registers builders)
