from django.apps import AppConfig


class NavigationConfig(AppConfig):
    name = "apps.navigation"
    label = "navigation"

    def ready(self) -> None:
        from apps.cruises import extensions

        from . import cruise_parts

        extensions.add_page_context(cruise_parts.page_context)

        from apps.deliveries.signals import delivery_classified

        from . import receivers

        delivery_classified.connect(receivers.build_from_classified_delivery, dispatch_uid="navigation-build")

        from . import builds  # noqa: F401  (registers the rebuild of navigation products)
