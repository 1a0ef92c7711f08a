from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "apps.catalog"
    label = "catalog"
    verbose_name = "Catalog (STAC GeoParquet, mirrors)"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the signal receivers)
