from django.apps import AppConfig


class HoldsConfig(AppConfig):
    name = "apps.holds"
    label = "holds"

    def ready(self) -> None:
        from apps.cruises import extensions

        from . import cruise_parts

        extensions.add_page_context(cruise_parts.page_context)
        extensions.register(held_until=cruise_parts.held_until)
