from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "apps.search"
    label = "search"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (re-index on packages.signals.revision_changed)
