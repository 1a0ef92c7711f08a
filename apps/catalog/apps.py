from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "apps.catalog"
    label = "catalog"
    verbose_name = "Catalog (STAC GeoParquet, mirrors)"

    def ready(self) -> None:
        from apps.publishing import extensions as publishing_extensions

        from . import receivers  # noqa: F401  (connects the signal receivers)
        from .mirrors import datacite_copies

        publishing_extensions.add_copies(datacite_copies)
